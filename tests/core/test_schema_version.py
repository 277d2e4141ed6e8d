"""The schema version a file claims always matches the migrations that built it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from localhub import SQLiteStore
from localhub.db import SCHEMA_VERSION
from localhub.migrations import MIGRATIONS


def test_schema_version_counts_the_migrations() -> None:
    """SCHEMA_VERSION equals the number of migrations: a file at version N has all N applied."""
    assert SCHEMA_VERSION == len(MIGRATIONS._migrations)


def test_fresh_file_records_every_migration(tmp_path: Path) -> None:
    """A new database lists every migration as applied and claims the current version."""
    store = SQLiteStore(tmp_path / "r.db")
    store.pending()
    store.close()
    conn = sqlite3.connect(tmp_path / "r.db")
    applied = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == [m.name for m in MIGRATIONS._migrations]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
