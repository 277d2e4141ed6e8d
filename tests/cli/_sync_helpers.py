"""Helpers of the sync CLI tests: a real `localhub serve` as the remote."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.processes import start_serve, stop

API = "/api/model_registry/v1"


class Server:
    """A running `localhub serve`: its URL and a reader of its models."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: Any) -> Any:
        """GET a path of the REST API as JSON."""
        resp = requests.get(self.url + API + path, params=params, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def model_names(self) -> list[str]:
        """Names of the registered models on the remote."""
        return sorted(m["name"] for m in self.get("/registered_models").get("items", []))

    def model(self, name: str) -> dict[str, Any]:
        """One remote model by name."""
        return dict(self.get("/registered_model", name=name))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real `localhub serve` on a free port with its own database."""
    proc, port = start_serve(tmp_path / "srv-home", tmp_path / "remote.db",
                             tmp_path / "serve.log")
    try:
        yield Server(proc, port)
    finally:
        stop(proc)
