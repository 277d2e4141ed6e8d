"""`localhub sync --every`: the `--json` log lines, and a second signal abandoning a stuck run."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localhub.store import SQLiteStore

from tests.support.servers import Server
from tests.support.sync_loop import Loop, register_offline, until

pytestmark = pytest.mark.slow


def test_every_json_prints_one_json_object_per_run(
        tmp_path: Path, server: Server, loops: list[Loop]) -> None:
    """--every --json prints one JSON object per run with its report, exit code and next run."""
    db = tmp_path / "local.db"
    register_offline(db, "json-model")
    loop = Loop(tmp_path, db, "--every", "1s", "--json", "--remote", server.url)
    loops.append(loop)
    until(lambda: len(loop.lines()) >= 2, 30, "two runs", loop.out)
    assert loop.terminate() == 0
    runs = [json.loads(line) for line in loop.lines()]
    for run in runs:
        assert set(run) >= {"time", "run", "exit_code", "report", "error", "next_in"}
        assert run["run"] == "sync" and run["exit_code"] == 0 and run["error"] is None
        assert run["next_in"] > 0
        assert run["time"].endswith("Z")
    assert runs[0]["report"]["created"] == 3  # model, version, artifact
    assert runs[0]["report"]["remaining"] == 0
    assert runs[1]["report"]["created"] == 0
    assert server.model_names() == ["json-model"]


class SilentRemote:
    """A TCP server that accepts connections, reads requests and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        #: Set once a request has arrived (its sender now waits for a reply).
        self.asked = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn = self.sock.accept()[0]
            except OSError:
                continue
            self.held.append(conn)
            conn.settimeout(5)
            try:
                if conn.recv(65536):
                    self.asked.set()
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_remote() -> Iterator[SilentRemote]:
    """A remote that accepts connections and never answers: a stuck remote."""
    remote = SilentRemote()
    try:
        yield remote
    finally:
        remote.close()


def test_a_second_signal_abandons_a_stuck_run_and_keeps_the_queue(
        tmp_path: Path, silent_remote: SilentRemote, loops: list[Loop]) -> None:
    """During a run stuck on a silent remote, a first SIGTERM lets the run go on and a second
    one stops the loop at once with exit 0, the queue intact."""
    db = tmp_path / "local.db"
    register_offline(db, "queued")
    loop = Loop(tmp_path, db, "--every", "1s", "--remote", silent_remote.url)
    loops.append(loop)
    if not silent_remote.asked.wait(30):
        pytest.fail(f"no request reached the remote; loop output:\n{loop.err.read_text()}")
    loop.proc.send_signal(signal.SIGTERM)
    until(lambda: "finishing the current run" in loop.err.read_text(), 10,
          "the first signal's notice", loop.err)
    assert loop.proc.poll() is None  # the first signal lets the current run finish
    started = time.monotonic()
    loop.proc.send_signal(signal.SIGTERM)
    assert loop.proc.wait(10) == 0
    assert time.monotonic() - started < 5  # far less than the remote's 30 s read timeout
    err = loop.err.read_text()
    assert "abandoned" in err and "Traceback" not in err
    assert len(SQLiteStore(db).pending()) == 3  # nothing of the queue is lost
