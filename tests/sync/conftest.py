"""Fixtures: a real ``localhub serve`` subprocess as the remote, and a fault proxy in front."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localhub.remote import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, SyncReport

from tests.support.processes import FAULTPROXY, free_port, start_serve, stop, wait_healthy

HERE = Path(__file__).parent


class Server:
    """A running ``localhub serve``: URL, port, its database path and captured stderr."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, db: Path, log: Path) -> None:
        self.proc, self.port, self.db, self.log_path = proc, port, db, log
        self.url = f"http://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Proxy:
    """The fault proxy: ``url`` to sync against, rules, and the log of forwarded requests."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"

    def rules(self, *rules: dict[str, Any]) -> None:
        requests.post(self.url + "/__proxy__/rules", json=list(rules), timeout=5)

    def reset(self) -> None:
        requests.post(self.url + "/__proxy__/reset", timeout=5)

    def mode(self, **mode: Any) -> None:
        requests.post(self.url + "/__proxy__/mode", json=mode, timeout=5)

    def log(self) -> list[tuple[str, str, Any]]:
        return [tuple(x) for x in requests.get(self.url + "/__proxy__/log", timeout=5).json()]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    db = tmp_path / "remote.db"
    log = tmp_path / "serve.log"
    proc, port = start_serve(tmp_path, db, log)
    try:
        yield Server(proc, port, db, log)
    finally:
        stop(proc)


@pytest.fixture
def proxy(server: Server, tmp_path: Path) -> Iterator[Proxy]:
    port = free_port()
    log = tmp_path / "proxy.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(FAULTPROXY), "--target",
                                 server.url, "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT)
    p = Proxy(proc, port)
    try:
        wait_healthy(p.url + "/readyz/health", proc, log)
        p.reset()
        yield p
    finally:
        stop(proc)


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


def start_serve_on(port: int, home: Path, db: Path, log: Path) -> subprocess.Popen[bytes]:
    """``localhub serve`` on a given port (to replace a server by another at the same URL)."""
    import os

    cmd = [sys.executable, "-m", "localhub.cli", "serve", "--port", str(port), "--db", str(db)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "LOCALHUB_HOME": str(home)})
    try:
        wait_healthy(f"http://127.0.0.1:{port}/readyz/health", proc, log)
    except BaseException:
        stop(proc)
        raise
    return proc
