"""Fixtures: real ``localhub serve`` processes (the local one and an upstream) and Debian's
chromium driven by Playwright."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.processes import start_serve, stop

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
API = "/api/model_registry/v1"


class Server:
    """A running ``localhub serve``: URL, database and log."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, db: Path, log: Path) -> None:
        self.proc, self.port, self.db, self.log_path = proc, port, db, log
        self.url = f"http://127.0.0.1:{port}"
        self.api = self.url + API

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = requests.post(self.api + path, json=body, timeout=10)
        assert reply.status_code in (200, 201), reply.text
        data: dict[str, Any] = reply.json()
        return data

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = requests.patch(self.api + path, json=body, timeout=10)
        assert reply.status_code == 200, reply.text
        data: dict[str, Any] = reply.json()
        return data

    def get(self, path: str) -> dict[str, Any]:
        reply = requests.get(self.api + path, timeout=10)
        assert reply.status_code == 200, reply.text
        data: dict[str, Any] = reply.json()
        return data

    def register(self, name: str, version: str = "v1", **fields: Any) -> dict[str, Any]:
        """A model with one version and its model artifact, through the REST API."""
        model = self.post("/registered_models", {"name": name, **fields})
        mv = self.post("/model_versions", {"name": version, "registeredModelId": model["id"]})
        self.post(f"/model_versions/{mv['id']}/artifacts",
                  {"artifactType": "model-artifact", "name": name,
                   "uri": f"s3://models/{name}/{version}", "modelFormatName": "onnx"})
        return model

    def model(self, name: str) -> dict[str, Any]:
        reply = requests.get(self.api + "/registered_model", params={"name": name}, timeout=10)
        assert reply.status_code == 200, reply.text
        data: dict[str, Any] = reply.json()
        return data


def _serve(where: Path, env: dict[str, str] | None = None,
           extra: list[str] | None = None) -> Generator[Server, None, None]:
    where.mkdir(parents=True, exist_ok=True)
    db, log = where / "registry.db", where / "serve.log"
    proc, port = start_serve(where / "home", db, log, extra, env)
    try:
        yield Server(proc, port, db, log)
    finally:
        stop(proc)


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Server]:
    """The central registry: a second ``serve`` on its own database."""
    yield from _serve(tmp_path / "upstream")


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Server]:
    """The serve process under test, with no remote configured."""
    yield from _serve(tmp_path / "local")


@pytest.fixture
def linked(tmp_path: Path, upstream: Server) -> Iterator[Server]:
    """The serve process under test, whose configured remote is ``upstream``."""
    yield from _serve(tmp_path / "linked", {"LOCALHUB_REMOTE": upstream.url})


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless (skipped where it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install "
                    "chromium) to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page (own cookies) with a short default timeout."""
    context = browser.new_context()
    context.set_default_timeout(float(os.environ.get("LOCALHUB_WEB_TIMEOUT_MS", "15000")))
    try:
        yield context.new_page()
    finally:
        context.close()
