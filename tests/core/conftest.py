"""Fixtures of the core suite: ready clients on a temp file (the home is isolated by the
root conftest)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import localhub


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The database file the client and registry fixtures use."""
    return tmp_path / "r.db"


@pytest.fixture
def client(db_path: Path) -> Iterator[localhub.ModelRegistryClient]:
    """A ModelRegistryClient on a fresh file, author alice."""
    c = localhub.ModelRegistryClient("https://registry.example.com", author="alice", path=db_path)
    yield c
    c.store.close()


@pytest.fixture
def registry(db_path: Path) -> Iterator[localhub.ModelRegistry]:
    """A ModelRegistry on a fresh file, author alice."""
    r = localhub.ModelRegistry("https://registry.example.com", author="alice", path=db_path)
    yield r
    r.store.close()


def count_rows(path: Path, table: str, where: str = "1", params: tuple[object, ...] = ()) -> int:
    """Row count of a table, read through a separate raw sqlite3 connection."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params)
                   .fetchone()[0])
    finally:
        conn.close()


def snapshot(path: Path) -> dict[str, int]:
    """Counts of every entity table and the outbox, to prove that nothing was written."""
    return {table: count_rows(path, table)
            for table in ("contexts", "artifacts", "executions", "outbox")}
