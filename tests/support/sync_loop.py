"""``localhub sync --every ...`` as a real process: start it, read its output, wait on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from localhub.store import SQLiteStore

__all__ = ["Loop", "register_offline", "until"]


def register_offline(db: Path, name: str) -> None:
    """Register ``name`` version 1 offline with the library (queued for sync)."""
    store = SQLiteStore(db)
    try:
        store.register_model(name, f"s3://b/{name}/1", version="1", author="t", owner="t")
    finally:
        store.close()


def until(check: Callable[[], bool], timeout: float, what: str, log: Path) -> float:
    """Wait until ``check()``; returns the seconds it took; fails with the loop's output."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what} not seen within {timeout}s; loop output:\n{log.read_text()}")
        time.sleep(0.1)
    return time.monotonic() - start


class Loop:
    """A running ``localhub sync --every ...`` with its stdout and stderr files."""

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

    def err_count(self, text: str) -> int:
        """How many lines of stderr so far contain ``text``."""
        return sum(text in line for line in self.err.read_text().splitlines())

    def terminate(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and wait for a clean exit; returns the exit code."""
        self.proc.send_signal(sig)
        return self.proc.wait(30)
