"""`localhub sync`'s pull progress and the line before a device's first pull (issue 14, item 8)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from localhub.cli.render import progress_line

from tests.support.cli import Invoke
from tests.support.cli import run_cli as _run
from tests.support.servers import Server

FIRST = "first sync with"


def test_progress_line_shapes() -> None:
    """Push draws a bar; a pull (no total) a running count with its non-zero kinds."""
    assert progress_line("push", 5, 10) == "push  [##########..........] 5/10"
    counts = {"models": 40, "versions": 1100, "artifacts": 94, "serving environments": 0}
    assert progress_line("pull", 1234, 0, counts) == (
        "pull  1,234 entities (models 40, versions 1,100, artifacts 94)")
    assert progress_line("pull", 0, 0, dict.fromkeys(counts, 0)) == "pull  0 entities"


def test_first_sync_line_before_the_first_pull_only(invoke: Invoke, server: Server,
                                                    tmp_path: Path) -> None:
    """The line shows on a device's first pull only: not with --json, --quiet, --push-only,
    --dry-run or --model, and not once a pull has completed."""
    assert invoke("register", "m", "s3://b/m", "--version", "1").exit_code == 0
    as_json = invoke("sync", "--remote", server.url, "--json")
    assert as_json.exit_code == 0 and FIRST not in as_json.stderr
    other = tmp_path / "other.db"
    for quiet in (["--quiet"], []):
        db = tmp_path / f"quiet{len(quiet)}.db"
        shown = _run(db, *quiet, "sync", "--remote", server.url)
        assert shown.exit_code == 0
        assert (FIRST in shown.stderr) is not bool(quiet)
    for limited in (["--push-only"], ["--dry-run"], ["--model", "m"]):
        result = _run(other, "sync", "--remote", server.url, *limited)
        assert result.exit_code == 0 and FIRST not in result.stderr, limited
    fresh = tmp_path / "fresh.db"
    first = _run(fresh, "sync", "--remote", server.url)
    assert first.exit_code == 0
    assert first.stderr.count(FIRST) == 1
    line = next(x for x in first.stderr.splitlines() if FIRST in x)
    assert f"{FIRST} {server.url}:" in line and "--model NAME" in line and "--push-only" in line
    assert FIRST not in first.stdout
    again = _run(fresh, "sync", "--remote", server.url)
    assert again.exit_code == 0 and FIRST not in again.stderr
    # A pull limited by --model is not a mirror: the first full pull after it still says so.
    full = _run(other, "sync", "--remote", server.url)
    assert full.exit_code == 0 and full.stderr.count(FIRST) == 1
    assert FIRST not in _run(other, "sync", "--remote", server.url).stderr


def test_a_database_synced_before_full_pulls_were_recorded_gets_no_first_line(
        invoke: Invoke, server: Server, db: Path) -> None:
    """A database whose full pulls left watermarks but no ``last_full_pull`` (an older
    localhub) is not told it is mirroring for the first time."""
    assert invoke("register", "m", "s3://b/m", "--version", "1").exit_code == 0
    assert invoke("sync", "--remote", server.url).exit_code == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("DELETE FROM sync_state WHERE key = 'last_full_pull'").rowcount == 1
    assert FIRST not in invoke("sync", "--remote", server.url).stderr


def test_pull_progress_on_a_terminal(invoke: Invoke, server: Server, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the pull draws a running entity count with the counts per kind, after
    the first pull's notice."""
    assert invoke("register", "m", "s3://b/m", "--version", "1").exit_code == 0
    assert invoke("sync", "--remote", server.url).exit_code == 0
    monkeypatch.setattr("localhub.cli.sync_cmds.stderr_is_tty", lambda: True)
    monkeypatch.setattr("localhub.cli.sync_cmds._Progress.EVERY", 0.0)
    result = _run(tmp_path / "fresh.db", "sync", "--remote", server.url)
    assert result.exit_code == 0
    assert "pull  3 entities (models 1, versions 1, artifacts 1)" in result.stderr
    # The first pull's notice comes on its own line when the pull starts, after the push.
    assert result.stderr.index("push  [") < result.stderr.index(FIRST) \
        < result.stderr.index("pull  0 entities")
