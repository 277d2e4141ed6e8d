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


def test_a_version_2_file_is_migrated_forward_keeping_its_content(tmp_path: Path) -> None:
    """A file written before migration 0003 gains ``sync_items.sent`` and keeps its data."""
    path = tmp_path / "r.db"
    store = SQLiteStore(path)
    store.register_model("m", "s3://b/m", version="v1")
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE sync_items DROP COLUMN sent")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0003_sent'")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    assert len(store.pending()) == 3
    store.close()
    conn = sqlite3.connect(path)
    assert "sent" in [r[1] for r in conn.execute("PRAGMA table_info(sync_items)")]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
