"""Fixtures: a real ``localhub serve`` subprocess on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import TOKEN, Server, serving


def _start(tmp_path: Path, extra: list[str], env: dict[str, str]) -> Iterator[Server]:
    with serving(tmp_path, tmp_path / "r.db", tmp_path / "serve.log", extra, env) as server:
        yield server


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
