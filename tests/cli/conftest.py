"""Fixtures of the CLI suite: a CliRunner on a real temp database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from localhub.cli.main import main
from localhub.store import SQLiteStore

Invoke = Callable[..., Result]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The database file the CLI tests use (passed with --db)."""
    return tmp_path / "cli.db"


@pytest.fixture
def invoke(db: Path) -> Invoke:
    """Run `localhub --db DB ARGS...` in-process; returns click's Result."""
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(main, ["--db", str(db), *args], env=env, catch_exceptions=False)

    return run


@pytest.fixture
def store(db: Path) -> SQLiteStore:
    """The library's view of the same database file."""
    return SQLiteStore(db)
