"""The frozen migration DDL and the sqlmodel table classes describe the same schema."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from localhub import SQLiteStore
from localhub._tables import SYNC_TABLES, TABLES


def _schema(conn: sqlite3.Connection) -> dict[str, object]:
    """Tables with their columns (name, type, not null, default, pk) and indexes."""
    out: dict[str, object] = {}
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != '_sqlite_migrations' ORDER BY name")]
    for table in tables:
        columns = sorted(tuple(r)[1:] for r in conn.execute(f"PRAGMA table_info({table})"))
        indexes = sorted(
            (r[1], r[2], r[4], tuple(c[2] for c in conn.execute(f"PRAGMA index_info('{r[1]}')")))
            for r in conn.execute(f"PRAGMA index_list({table})")
            if not r[1].startswith("sqlite_autoindex"))
        uniques = sorted(
            tuple(c[2] for c in conn.execute(f"PRAGMA index_info('{r[1]}')"))
            for r in conn.execute(f"PRAGMA index_list({table})")
            if r[1].startswith("sqlite_autoindex"))
        out[table] = (columns, indexes, uniques)
    return out


def test_migrated_schema_matches_the_table_classes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "migrated.db")
    store.get_meta("schema")
    store.close()
    models = sqlite3.connect(tmp_path / "models.db")
    dialect = sqlite.dialect()
    for model in (*TABLES, *SYNC_TABLES):
        table = model.__table__  # type: ignore[attr-defined]
        models.execute(str(CreateTable(table).compile(dialect=dialect)))
        for index in table.indexes:
            models.execute(str(CreateIndex(index).compile(dialect=dialect)))
    migrated = sqlite3.connect(tmp_path / "migrated.db")
    try:
        assert _schema(migrated) == _schema(models)
    finally:
        migrated.close()
        models.close()


def test_creating_a_file_imports_neither_sqlmodel_nor_sqlalchemy(tmp_path: Path) -> None:
    code = ("import sys\nfrom localhub import SQLiteStore\n"
            f"SQLiteStore({str(tmp_path / 'new.db')!r}).register_model('m', 's3://b', "
            "version='v1')\n"
            "print(sorted(m for m in ('sqlmodel', 'sqlalchemy', 'pydantic') "
            "if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
