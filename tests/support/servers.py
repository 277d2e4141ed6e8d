"""The serve / proxy harness: a real ``localhub serve`` and the fault proxy, as objects.

Fixtures in the ``conftest.py`` files build on :func:`serving` and :func:`proxying`; tests
take the :class:`Server` and :class:`Proxy` they yield.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from .processes import FAULTPROXY, free_port, start_serve, stop, wait_healthy

__all__ = ["API", "TOKEN", "Proxy", "Server", "proxying", "serving", "serving_in",
           "start_serve_on"]

API = "/api/model_registry/v1"
#: The bearer token of a serve started with ``--token-env`` in tests.
TOKEN = "s3cret-token-for-tests"


class Server:
    """A running ``localhub serve``: URL, port, database, captured output, a REST reader."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, db: Path, log_path: Path
                 ) -> None:
        self.proc, self.port, self.db, self.log_path = proc, port, db, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.api = self.url + API

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, **params: Any) -> Any:
        """GET a path of the v1 REST API as JSON (an HTTP error raises)."""
        resp = requests.get(self.api + path, params=params, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def model_names(self) -> list[str]:
        """Names of the registered models on this server."""
        return sorted(m["name"] for m in self.get("/registered_models").get("items", []))

    def model(self, name: str) -> dict[str, Any]:
        """One model of this server, by name."""
        return dict(self.get("/registered_model", name=name))

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON to a path of the v1 REST API; the reply must be 200 or 201."""
        reply = requests.post(self.api + path, json=body, timeout=10)
        assert reply.status_code in (200, 201), reply.text
        return dict(reply.json())

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH a path of the v1 REST API with JSON; the reply must be 200."""
        reply = requests.patch(self.api + path, json=body, timeout=10)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    def alter(self, sql: str) -> None:
        """Change the server's database behind its back (another writer, a restored backup)."""
        conn = sqlite3.connect(self.db)
        try:
            with conn:
                conn.execute(sql)
        finally:
            conn.close()

    def register(self, name: str, version: str = "v1", **fields: Any) -> dict[str, Any]:
        """A model with one version and its model artifact, through the REST API."""
        model = self.post("/registered_models", {"name": name, **fields})
        mv = self.post("/model_versions", {"name": version, "registeredModelId": model["id"]})
        self.post(f"/model_versions/{mv['id']}/artifacts",
                  {"artifactType": "model-artifact", "name": name,
                   "uri": f"s3://models/{name}/{version}", "modelFormatName": "onnx"})
        return model


class Proxy:
    """The fault proxy: ``url`` to sync against, its rules, mode, log and in-flight count."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"

    def rules(self, *rules: dict[str, Any]) -> None:
        """Replace the fault rules (see ``faultproxy.py``)."""
        requests.post(self.url + "/__proxy__/rules", json=list(rules), timeout=5)

    def reset(self) -> None:
        """No rules, no mode, an empty log."""
        requests.post(self.url + "/__proxy__/reset", timeout=5)

    def mode(self, **mode: Any) -> None:
        """Set a proxy-wide mode (e.g. ``down=True``)."""
        requests.post(self.url + "/__proxy__/mode", json=mode, timeout=5)

    def log(self) -> list[tuple[str, str, Any]]:
        """The (method, path, status or fault) of every request so far."""
        return [tuple(x) for x in requests.get(self.url + "/__proxy__/log", timeout=5).json()]

    def in_flight(self) -> int:
        """How many proxied requests have arrived and not been answered yet."""
        status = requests.get(self.url + "/__proxy__/status", timeout=5).json()
        return int(status["in_flight"])


@contextmanager
def serving(home: Path, db: Path, log: Path, extra: list[str] | None = None,
            env: dict[str, str] | None = None) -> Iterator[Server]:
    """``localhub serve`` on a free port over ``db``, stopped when the block ends."""
    proc, port = start_serve(home, db, log, extra, env)
    try:
        yield Server(proc, port, db, log)
    finally:
        stop(proc)


@contextmanager
def serving_in(where: Path, env: dict[str, str] | None = None,
               extra: list[str] | None = None) -> Iterator[Server]:
    """``localhub serve`` with its home, database and log in the folder ``where``."""
    where.mkdir(parents=True, exist_ok=True)
    with serving(where / "home", where / "registry.db", where / "serve.log", extra,
                 env) as server:
        yield server


@contextmanager
def proxying(target: str, log: Path) -> Iterator[Proxy]:
    """The fault proxy in front of ``target``, reset, stopped when the block ends."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(FAULTPROXY), "--target", target,
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    proxy = Proxy(proc, port)
    try:
        wait_healthy(proxy.url + "/readyz/health", proc, log)
        proxy.reset()
        yield proxy
    finally:
        stop(proc)


def start_serve_on(port: int, home: Path, db: Path, log: Path) -> subprocess.Popen[bytes]:
    """``localhub serve`` on a given port (to replace a server by another at the same URL)."""
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
