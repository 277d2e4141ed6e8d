"""``localhub.testing.running_server``: the same server as a context manager."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from localhub import SQLiteStore
from localhub.testing import running_server


def _refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_until_refused(port: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _refuses(port):
            return True
        time.sleep(0.05)
    return False


def test_temporary_database() -> None:
    """Without a path: an empty registry in a temporary folder, gone after the block."""
    with running_server() as server:
        assert server.token is None
        reply = requests.get(server.api_url + "/registered_models", timeout=10)
        assert reply.status_code == 200 and reply.json()["items"] == []
        server.client.register_model("m", "s3://b/m", version="1")
        assert requests.get(server.api_url + "/registered_models",
                            timeout=10).json()["size"] == 1
        db_path, port = server.db_path, server.port
    assert not db_path.exists() and not db_path.parent.exists()
    assert _refuses(port)


def test_existing_database_is_kept(tmp_path: Path) -> None:
    """With a path: that file is served as it is, and kept afterwards."""
    path = tmp_path / "mine.db"
    store = SQLiteStore(path)
    store.register_model("kept", "s3://b/k", version="1")
    store.close()
    with running_server(path) as server:
        assert server.db_path == path
        names = [m["name"] for m in requests.get(server.api_url + "/registered_models",
                                                  timeout=10).json()["items"]]
        assert names == ["kept"]
    assert path.is_file()
    assert SQLiteStore(path).find_version("kept", "1") is not None


@pytest.mark.parametrize("token", [True, "given-token"])
def test_token(token: bool | str) -> None:
    """token=True makes a random token, a string is used as is; requests need it."""
    with running_server(token=token) as server:
        assert server.token is not None
        if isinstance(token, str):
            assert server.token == token
        api = server.api_url + "/registered_models"
        assert requests.get(api, timeout=10).status_code == 401
        assert requests.get(api, headers=server.headers, timeout=10).status_code == 200
        assert server.token not in server.log()


def test_server_exits_with_its_parent(tmp_path: Path) -> None:
    """A process killed with SIGKILL inside running_server leaves no server behind."""
    script = ("from localhub.testing import running_server\nimport sys, time\n"
              "with running_server() as s:\n    print(s.port, flush=True)\n    time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        port = int(parent.stdout.readline())
        assert not _refuses(port)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()
    assert _wait_until_refused(port), f"server on port {port} outlived its parent"


def test_start_failure_reports_the_output(tmp_path: Path) -> None:
    """A database serve cannot open fails the start with serve's own error message."""
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    with pytest.raises(RuntimeError, match="error: localhub serve did not start") as info:
        with running_server(folder):
            pass
    assert "is a directory" in str(info.value)
