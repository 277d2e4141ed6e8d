"""Starting and stopping real helper processes (``localhub serve``, the fault proxy) in tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

__all__ = ["FAULTPROXY", "free_port", "start_serve", "stop", "wait_healthy"]

#: The fault proxy script, started as its own process.
FAULTPROXY = Path(__file__).with_name("faultproxy.py")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until ``url`` answers 200; fail with the process's output if it exits or stalls."""
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}:\n"
                               f"{log.read_text(errors='replace')}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or a loaded host
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process, killing it if it does not exit within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def start_serve(home: Path, db: Path, log: Path, extra: list[str] | None = None,
                env: dict[str, str] | None = None, *, quirks: str | None = None
                ) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``localhub serve`` on a free port and wait for its health endpoint.

    ``quirks`` (e.g. ``"no-etag,like-names"``) makes it emulate a real server's quirks
    (``LOCALHUB_SERVE_QUIRKS``, see ``localhub/server/quirks.py``).
    """
    if quirks is not None:
        env = {**(env or {}), "LOCALHUB_SERVE_QUIRKS": quirks}
    port = free_port()
    cmd = [sys.executable, "-m", "localhub.cli", "serve", "--port", str(port), "--db", str(db),
           *(extra or [])]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "LOCALHUB_HOME": str(home), **(env or {})})
    try:
        wait_healthy(f"http://127.0.0.1:{port}/readyz/health", proc, log)
    except BaseException:
        stop(proc)
        raise
    return proc, port
