"""Fixtures of the core suite: ready clients on a temp file (the home is isolated by the
root conftest)."""

from __future__ import annotations

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
