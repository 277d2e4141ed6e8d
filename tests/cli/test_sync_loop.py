"""`localhub sync --every [--watch]` as a real process against a real `localhub serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from localhub.store import SQLiteStore

from tests.support.processes import free_port, stop
from tests.support.servers import Server
from tests.support.sync_loop import Loop, register_offline, until

pytestmark = pytest.mark.slow

#: What ``sync --every --watch --verbose`` says when a local change starts no run.
NO_RUN = "nothing new queued; no run"


def _healthy(url: str) -> bool:
    """Whether the server answers its health check (any failure: not yet)."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_every_pushes_offline_registrations_and_stops_on_sigterm(
        tmp_path: Path, server: Server, loops: list[Loop]) -> None:
    """A model registered while the loop runs reaches the remote; SIGTERM exits 0."""
    db = tmp_path / "local.db"
    loop = Loop(tmp_path, db, "--every", "1s", "--remote", server.url)
    loops.append(loop)
    until(lambda: len(loop.lines()) >= 1, 30, "a first run", loop.out)
    register_offline(db, "offline-model")
    until(lambda: server.model_names() == ["offline-model"], 20, "the push", loop.out)
    assert loop.terminate() == 0
    assert "stopped" in loop.err.read_text()
    lines = loop.lines()
    assert all(" sync pushed " in line and "next in" in line for line in lines)
    assert any("pushed 3 " in line for line in lines)


def test_watch_pushes_within_seconds_of_a_local_change(
        tmp_path: Path, server: Server, loops: list[Loop]) -> None:
    """--watch with --every 1h: a local change is pushed a few seconds after it is written,
    the loop's own writes start no further run, and SIGINT stops the loop with exit 0."""
    db = tmp_path / "local.db"
    loop = Loop(tmp_path, db, "--every", "1h", "--watch", "--verbose", "--remote", server.url)
    loops.append(loop)
    until(lambda: len(loop.lines()) >= 1, 30, "the first scheduled run", loop.out)
    register_offline(db, "watched")
    took = until(lambda: server.model_names() == ["watched"], 15, "the watch push", loop.out)
    assert took < 10
    until(lambda: any(" watch pushed 3 " in x for x in loop.lines()), 5, "the log line",
          loop.out)
    # The watch run's own writes wake the loop; once debounced it says it started no run.
    skipped = loop.err_count(NO_RUN)
    until(lambda: loop.err_count(NO_RUN) > skipped, 15, "the skipped change", loop.err)
    assert len(loop.lines()) == 2
    assert loop.terminate(signal.SIGINT) == 0


def test_starts_while_remote_is_down_then_converges(tmp_path: Path, loops: list[Loop]) -> None:
    """Remote down at start: runs log the error and back off, the queue is kept; once the
    server starts the next run pushes everything."""
    db = tmp_path / "local.db"
    register_offline(db, "early")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    loop = Loop(tmp_path, db, "--every", "1s", "--remote", url)
    loops.append(loop)
    until(lambda: len(loop.lines()) >= 2, 60, "two failed runs", loop.out)
    assert all("unreachable" in line for line in loop.lines())
    assert len(SQLiteStore(db).pending()) == 3
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "localhub.cli", "serve", "--port",
                                 str(port), "--db", str(tmp_path / "remote.db")],
                                stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "LOCALHUB_HOME": str(tmp_path / "srv")})
    try:
        until(lambda: _healthy(f"{url}/readyz/health"), 60, "the server", log)
        until(lambda: any("pushed 3 " in x for x in loop.lines()), 30, "convergence",
               loop.out)
        assert SQLiteStore(db).pending() == []
        assert loop.terminate() == 0
    finally:
        stop(proc)
