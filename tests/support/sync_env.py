"""The sync suite's environment: local stores by name, sync runs through the fault proxy (or
straight to the remote), the remote read directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, SyncReport

from .servers import Proxy, Server

__all__ = ["Env"]


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
