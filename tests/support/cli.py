"""The CLI in-process: the ``invoke`` fixture's type, a run on another database, a conflict."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from localhub.cli.main import main

from .servers import Server

__all__ = ["Invoke", "make_conflict", "run_cli"]

#: ``invoke("register", ...)``: ``localhub --db DB ARGS...`` in-process, click's Result.
Invoke = Callable[..., Result]


def run_cli(db: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """``localhub --db DB ARGS...`` in-process on another database."""
    return CliRunner().invoke(main, ["--db", str(db), *args], env=env, catch_exceptions=False)


def make_conflict(invoke: Invoke, server: Server, tmp_path: Path, *,
                  local: tuple[str, ...], remote: tuple[str, ...]) -> int:
    """Make one conflict on the test database: ``update m ...local`` here vs ``...remote`` on
    another database synced first; returns the conflict's id."""
    assert invoke("register", "m", "s3://b/m/1", "--version", "v1").exit_code == 0
    assert invoke("sync", "--remote", server.url).exit_code == 0
    other = tmp_path / "other.db"
    assert run_cli(other, "sync", "--remote", server.url).exit_code == 0
    assert run_cli(other, "update", "m", *remote).exit_code == 0
    assert run_cli(other, "sync", "--remote", server.url).exit_code == 0
    assert invoke("update", "m", *local).exit_code == 0
    result = invoke("sync", "--remote", server.url, "--json")
    assert result.exit_code == 3, result.output
    ids: list[int] = json.loads(result.stdout)["open_conflicts"]
    assert len(ids) == 1
    return ids[0]
