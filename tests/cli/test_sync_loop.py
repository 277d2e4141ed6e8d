"""`localhub sync --every [--watch]` as a real process against a real `localhub serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from localhub.store import SQLiteStore

from ._sync_helpers import Server, server  # noqa: F401  (fixture)
from tests.support.processes import free_port, stop

pytestmark = pytest.mark.slow


def _register(db: Path, name: str) -> None:
    """Register `name` version 1 offline with the library (queued for sync)."""
    SQLiteStore(db).register_model(name, f"s3://b/{name}/1", version="1", author="t", owner="t")


def _until(check: Callable[[], bool], timeout: float, what: str, log: Path) -> float:
    """Wait until ``check()``; returns the seconds it took; fails with the loop's output."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what} not seen within {timeout}s; loop output:\n{log.read_text()}")
        time.sleep(0.1)
    return time.monotonic() - start


def _healthy(url: str) -> bool:
    """Whether the server answers its health check (any failure: not yet)."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Loop:
    """A running `localhub sync --every ...` with its output file."""

    def __init__(self, tmp_path: Path, db: Path, *args: str) -> None:
        self.out = tmp_path / "loop.out"
        self.err = tmp_path / "loop.err"
        env = {**os.environ, "LOCALHUB_HOME": str(tmp_path / "home")}
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "localhub.cli", "--db", str(db), "sync", *args],
                stdout=out, stderr=err, env=env)

    def lines(self) -> list[str]:
        """The log lines printed so far (one per run)."""
        return self.out.read_text().splitlines()

    def terminate(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and wait for a clean exit; returns the exit code."""
        self.proc.send_signal(sig)
        return self.proc.wait(30)


@pytest.fixture
def loops() -> Iterator[list[Loop]]:
    """Loops started by a test, killed at the end if still running."""
    started: list[Loop] = []
    yield started
    for loop in started:
        if loop.proc.poll() is None:
            loop.proc.kill()
            loop.proc.wait(10)


def test_every_pushes_offline_registrations_and_stops_on_sigterm(
        tmp_path: Path, server: Server, loops: list[Loop]) -> None:  # noqa: F811
    """A model registered while the loop runs reaches the remote; SIGTERM exits 0."""
    db = tmp_path / "local.db"
    loop = Loop(tmp_path, db, "--every", "1s", "--remote", server.url)
    loops.append(loop)
    _until(lambda: len(loop.lines()) >= 1, 30, "a first run", loop.out)
    _register(db, "offline-model")
    _until(lambda: server.model_names() == ["offline-model"], 20, "the push", loop.out)
    assert loop.terminate() == 0
    assert "stopped" in loop.err.read_text()
    lines = loop.lines()
    assert all(" sync pushed " in line and "next in" in line for line in lines)
    assert any("pushed 3 " in line for line in lines)


def test_watch_pushes_within_seconds_of_a_local_change(
        tmp_path: Path, server: Server, loops: list[Loop]) -> None:  # noqa: F811
    """--watch with --every 1h: a local change is pushed a few seconds after it is written,
    and SIGINT stops the loop with exit 0."""
    db = tmp_path / "local.db"
    loop = Loop(tmp_path, db, "--every", "1h", "--watch", "--remote", server.url)
    loops.append(loop)
    _until(lambda: len(loop.lines()) >= 1, 30, "the first scheduled run", loop.out)
    time.sleep(0.5)
    _register(db, "watched")
    took = _until(lambda: server.model_names() == ["watched"], 15, "the watch push", loop.out)
    assert took < 10
    _until(lambda: any(" watch pushed 3 " in x for x in loop.lines()), 5, "the log line",
           loop.out)
    time.sleep(3)  # the loop's own writes must not start more runs
    assert len(loop.lines()) == 2
    assert loop.terminate(signal.SIGINT) == 0


def test_starts_while_remote_is_down_then_converges(tmp_path: Path, loops: list[Loop]) -> None:
    """Remote down at start: runs log the error and back off, the queue is kept; once the
    server starts the next run pushes everything."""
    db = tmp_path / "local.db"
    _register(db, "early")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    loop = Loop(tmp_path, db, "--every", "1s", "--remote", url)
    loops.append(loop)
    _until(lambda: len(loop.lines()) >= 2, 60, "two failed runs", loop.out)
    assert all("unreachable" in line for line in loop.lines())
    assert len(SQLiteStore(db).pending()) == 3
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "localhub.cli", "serve", "--port",
                                 str(port), "--db", str(tmp_path / "remote.db")],
                                stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "LOCALHUB_HOME": str(tmp_path / "srv")})
    try:
        _until(lambda: _healthy(f"{url}/readyz/health"), 60, "the server", log)
        _until(lambda: any("pushed 3 " in x for x in loop.lines()), 30, "convergence",
               loop.out)
        assert SQLiteStore(db).pending() == []
        assert loop.terminate() == 0
    finally:
        stop(proc)
