"""Fixtures: a real ``localhub serve`` subprocess as the remote, and a fault proxy in front.

Every test runs against our own ``serve`` and its Go-server emulation (``tests/support/
flavours.py``) unless marked ``own_server``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.flavours import pytest_generate_tests as pytest_generate_tests
from tests.support.flavours import server_flavour as server_flavour
from tests.support.servers import Proxy, Server, proxying, serving
from tests.support.sync_env import Env

HERE = Path(__file__).parent


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real ``localhub serve`` on a fresh database: the remote."""
    with serving(tmp_path, tmp_path / "remote.db", tmp_path / "serve.log") as srv:
        yield srv


@pytest.fixture
def proxy(server: Server, tmp_path: Path) -> Iterator[Proxy]:
    """The fault proxy in front of ``server``."""
    with proxying(server.url, tmp_path / "proxy.log") as p:
        yield p


@pytest.fixture
def env(tmp_path: Path, server: Server, proxy: Proxy) -> Iterator[Env]:
    e = Env(tmp_path, server, proxy)
    try:
        yield e
    finally:
        e.close()
