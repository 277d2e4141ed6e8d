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

from ._sync_helpers import Server, server  # noqa: F401  (fixture)
from .test_sync_loop import Loop, _register, _until, loops  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def test_every_json_prints_one_json_object_per_run(
        tmp_path: Path, server: Server, loops: list[Loop]) -> None:  # noqa: F811
    db = tmp_path / "local.db"
    _register(db, "json-model")
    loop = Loop(tmp_path, db, "--every", "1s", "--json", "--remote", server.url)
    loops.append(loop)
    _until(lambda: len(loop.lines()) >= 2, 30, "two runs", loop.out)
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


@pytest.fixture
def silent_remote() -> Iterator[str]:
    """A TCP server that accepts connections and never answers: a stuck remote."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        sock.close()


def test_a_second_signal_abandons_a_stuck_run_and_keeps_the_queue(
        tmp_path: Path, silent_remote: str, loops: list[Loop]) -> None:  # noqa: F811
    db = tmp_path / "local.db"
    _register(db, "queued")
    loop = Loop(tmp_path, db, "--every", "1s", "--remote", silent_remote)
    loops.append(loop)
    _until(lambda: "syncing with" in loop.err.read_text(), 30, "the loop start", loop.err)
    time.sleep(1.0)  # the first run is now waiting for a reply that never comes
    loop.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert loop.proc.poll() is None  # the first signal lets the current run finish
    started = time.monotonic()
    loop.proc.send_signal(signal.SIGTERM)
    assert loop.proc.wait(10) == 0
    assert time.monotonic() - started < 5  # far less than the remote's 30 s read timeout
    err = loop.err.read_text()
    assert "abandoned" in err and "Traceback" not in err
    assert len(SQLiteStore(db).pending()) == 3  # nothing of the queue is lost
