"""Fixtures: a real ``localhub serve`` subprocess on a free loopback port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import start_serve, stop

API = "/api/model_registry/v1"
TOKEN = "s3cret-token-for-tests"


class Server:
    """A running ``localhub serve``: its base URL, port and captured stderr."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.api = self.url + API
        self.log_path = log_path

    def log(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.log_path.read_text(errors="replace")


def _start(tmp_path: Path, extra: list[str], env: dict[str, str]) -> Iterator[Server]:
    log_path = tmp_path / "serve.log"
    proc, port = start_serve(tmp_path, tmp_path / "r.db", log_path, extra, env)
    try:
        yield Server(proc, port, log_path)
    finally:
        stop(proc)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``localhub serve`` on a fresh database, without auth."""
    yield from _start(tmp_path, [], {})


@pytest.fixture
def token_server(tmp_path: Path) -> Iterator[Server]:
    """``localhub serve --token-env`` on a fresh database."""
    yield from _start(tmp_path, ["--token-env", "LH_TEST_TOKEN"], {"LH_TEST_TOKEN": TOKEN})


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``localhub serve`` per test module (tests use unique names)."""
    yield from _start(tmp_path_factory.mktemp("serve"), [], {})


@pytest.fixture
def api(shared: Server) -> str:
    """The v1 base URL of the module's server."""
    return shared.api


_counter = iter(range(1, 10**9))


@pytest.fixture
def uniq() -> str:
    """A name no other test of the session uses."""
    return f"n{next(_counter)}"
