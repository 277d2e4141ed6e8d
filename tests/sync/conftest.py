"""Fixtures: a real ``localhub serve`` subprocess as the remote, and a fault proxy in front."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localhub.remote import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, SyncReport

from tests.support.servers import Proxy, Server, proxying, serving, start_serve_on

__all__ = ["Env", "Proxy", "Server", "start_serve_on"]

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


class Env:
    """Helpers: local stores by name, sync runs, the remote read directly."""

    def __init__(self, tmp_path: Path, server: Server, proxy: Proxy) -> None:
        self.tmp_path, self.server, self.proxy = tmp_path, server, proxy
        self.stores: dict[str, SQLiteStore] = {}

    def store(self, name: str) -> SQLiteStore:
        if name not in self.stores:
            self.stores[name] = SQLiteStore(self.tmp_path / f"{name}.db")
        return self.stores[name]

    def sync(self, name: str, *, direct: bool = False, **options: Any) -> SyncReport:
        url = self.server.url if direct else self.proxy.url
        remote = RemoteRegistry(url)
        run_opts = {k: options.pop(k) for k in ("push", "pull", "dry_run") if k in options}
        options.setdefault("sleep", lambda _s: None)
        try:
            return SyncEngine(self.store(name), remote, **options).run(**run_opts)
        finally:
            remote.close()

    def remote(self) -> RemoteRegistry:
        return RemoteRegistry(self.server.url)

    def close(self) -> None:
        for store in self.stores.values():
            store.close()


@pytest.fixture
def env(tmp_path: Path, server: Server, proxy: Proxy) -> Iterator[Env]:
    e = Env(tmp_path, server, proxy)
    try:
        yield e
    finally:
        e.close()
