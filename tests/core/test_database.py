"""Opening files: refusing what is not ours, locks, migration, pragmas."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

import localhub
from localhub import SQLiteStore
from localhub.db import APPLICATION_ID, SCHEMA_VERSION
from localhub.migrations import MIGRATIONS

from tests.support.tables import snapshot


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw_pragma(path: Path, name: str) -> object:
    """A pragma read through a separate raw connection."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    """A file with a newer schema version raises SchemaTooNewError and is left byte-identical."""
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = digest(path)
    store = SQLiteStore(path)
    with pytest.raises(localhub.SchemaTooNewError) as info:
        store.pending()
    assert isinstance(info.value, localhub.DatabaseError)
    assert "upgrade localhub" in str(info.value)
    assert info.value.path == str(path)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.db"]


@pytest.mark.parametrize("content", [b"hello, this is not a database\n" * 200,
                                     b"SQLite format 3\x00" + b"\xff" * 4000])
def test_non_sqlite_file_is_corrupt_error(tmp_path: Path, content: bytes) -> None:
    """A file that is not SQLite raises DatabaseCorruptError saying what to do; untouched."""
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    client = localhub.ModelRegistryClient("https://r.example.com", author="a", path=path)
    with pytest.raises(localhub.DatabaseCorruptError) as info:
        client.register_model("m", "s3://x", version="v1")
    message = str(info.value)
    assert str(path) in message
    assert "LOCALHUB_DB" in message and "backup" in message
    assert path.read_bytes() == content


def test_other_applications_database_is_refused(tmp_path: Path) -> None:
    """An SQLite file of another application (tables or foreign application_id) is refused."""
    plain = tmp_path / "app.db"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('x')")
    conn.commit()
    conn.close()
    tagged = tmp_path / "tagged.db"
    conn = sqlite3.connect(tagged)
    conn.execute("PRAGMA application_id = 1234")
    conn.commit()
    conn.close()
    for path in (plain, tagged):
        before = digest(path)
        with pytest.raises(localhub.DatabaseCorruptError, match="another application"):
            SQLiteStore(path).pending()
        assert digest(path) == before


def test_directory_path_is_clear_error(tmp_path: Path) -> None:
    """A directory given as database path raises DatabaseError naming the problem."""
    with pytest.raises(localhub.DatabaseError, match="is a directory"):
        SQLiteStore(tmp_path).pending()


def test_uncreatable_folder_is_permission_error(tmp_path: Path) -> None:
    """A path whose folder cannot be created raises DatabasePermissionError with advice."""
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    path = blocker / "sub" / "r.db"
    client = localhub.ModelRegistryClient("https://r.example.com", author="a", path=path)
    with pytest.raises(localhub.DatabasePermissionError) as info:
        list(client.list_models())
    assert isinstance(info.value, localhub.DatabaseError)
    assert "LOCALHUB_DB" in str(info.value)
    assert blocker.read_text() == "x"


def test_locked_database_raises_locked_error(tmp_path: Path) -> None:
    """A writer holding the lock past busy_timeout gives DatabaseLockedError; no half write."""
    path = tmp_path / "r.db"
    store = SQLiteStore(path, busy_timeout=0.2)
    registry = localhub.ModelRegistry("https://r.example.com", author="a", store=store)
    registry.register_model("m", "s3://x", model_format_name=None, model_format_version=None,
                            version="v1")
    before, pending = snapshot(path), registry.pending()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(localhub.DatabaseLockedError, match="locked") as info:
            registry.register_model("n", "s3://y", model_format_name=None,
                                    model_format_version=None, version="v1")
        assert "retry" in str(info.value)
        assert registry.get_registered_model("n") is None  # reads still work under WAL
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert snapshot(path) == before
    assert registry.pending() == pending
    registry.register_model("n", "s3://y", model_format_name=None, model_format_version=None,
                            version="v1")
    assert registry.get_registered_model("n") is not None
    store.close()


def test_migration_runs_once_and_sets_pragmas(tmp_path: Path) -> None:
    """A fresh file is migrated once; user_version, application_id and WAL are set."""
    path = tmp_path / "r.db"
    for _ in range(3):
        store = SQLiteStore(path)
        store.pending()
        store.close()
    assert raw_pragma(path, "user_version") == SCHEMA_VERSION
    assert raw_pragma(path, "application_id") == APPLICATION_ID
    assert raw_pragma(path, "journal_mode") == "wal"
    conn = sqlite3.connect(path)
    migrations = conn.execute("SELECT name FROM _sqlite_migrations").fetchall()
    uids = conn.execute("SELECT value FROM meta WHERE key = 'database_uid'").fetchall()
    conn.close()
    defined = [(m.name,) for m in MIGRATIONS._migrations]
    assert defined[0] == ("0001_initial",)
    assert sorted(migrations) == sorted(defined)  # each applied exactly once
    assert len(uids) == 1


def test_opening_existing_file_does_not_import_sqlmodel(tmp_path: Path) -> None:
    """Once migrated, opening a file needs no migration machinery (checked in a subprocess)."""
    import subprocess
    import sys

    path = tmp_path / "r.db"
    SQLiteStore(path).pending()
    code = ("import sys, localhub; s = localhub.SQLiteStore(sys.argv[1]); s.pending(); "
            "print(sorted(m for m in ('sqlmodel', 'sqlalchemy', 'sqlite_utils') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("asked", "expected"), [(None, 2), ("FULL", 2), ("NORMAL", 1)])
def test_synchronous_pragma(tmp_path: Path, asked: str | None, expected: int) -> None:
    """synchronous is FULL by default and NORMAL when asked; foreign keys and WAL are on."""
    path = tmp_path / "r.db"
    store = SQLiteStore(path) if asked is None else SQLiteStore(path, synchronous=asked)  # type: ignore[arg-type]
    conn = store.db.connection()
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == expected
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    store.close()


def test_busy_timeout_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LOCALHUB_BUSY_TIMEOUT (seconds) sets the busy timeout."""
    monkeypatch.setenv("LOCALHUB_BUSY_TIMEOUT", "1.5")
    store = SQLiteStore(tmp_path / "r.db")
    assert store.db.connection().execute("PRAGMA busy_timeout").fetchone()[0] == 1500
    store.close()


def test_close_and_reopen(tmp_path: Path) -> None:
    """close() releases the file; the next call reopens it with the data intact."""
    path = tmp_path / "r.db"
    client = localhub.ModelRegistryClient("https://r.example.com", author="a", path=path)
    client.register_model("m", "s3://x", version="v1")
    client.store.close()
    assert client.get_model("m").name == "m"
    client.store.close()


def test_tilde_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path starting with ~ opens the file under the home folder (not a literal '~' dir)."""
    home = tmp_path / "user"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    store = SQLiteStore("~/models/r.db")
    assert store.pending() == []
    assert store.path == str(home / "models" / "r.db")
    assert (home / "models" / "r.db").is_file()
    assert not (tmp_path / "~").exists()
    store.close()


def test_in_memory_database(tmp_path: Path) -> None:
    """':memory:' gives a working, migrated, throw-away store."""
    registry = localhub.ModelRegistry("https://r.example.com", author="a",
                                      store=SQLiteStore(":memory:"))
    registry.register_model("m", "s3://x", model_format_name=None, model_format_version=None,
                            version="v1")
    assert registry.get_registered_model("m") is not None
    assert len(registry.pending()) == 3
    assert list(tmp_path.iterdir()) == [tmp_path / "home"] or list(tmp_path.iterdir()) == []
