"""Fixtures of the CLI suite: a CliRunner on a real temp database, a real ``localhub serve``
as the remote, sync loops started as processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from localhub.cli.main import main
from localhub.store import SQLiteStore

from tests.support.cli import Invoke
from tests.support.servers import Server, serving
from tests.support.sync_loop import Loop


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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real `localhub serve` on a free port with its own database: the remote."""
    with serving(tmp_path / "srv-home", tmp_path / "remote.db", tmp_path / "serve.log") as srv:
        yield srv


@pytest.fixture
def loops() -> Iterator[list[Loop]]:
    """Loops started by a test, killed at the end if still running."""
    started: list[Loop] = []
    yield started
    for loop in started:
        if loop.proc.poll() is None:
            loop.proc.kill()
            loop.proc.wait(10)
