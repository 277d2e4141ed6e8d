"""Fixtures: real ``localhub serve`` processes (the local one and an upstream) and Debian's
chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import Server, serving_in

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Server]:
    """The central registry: a second ``serve`` on its own database."""
    with serving_in(tmp_path / "upstream") as server:
        yield server


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Server]:
    """The serve process under test, with no remote configured."""
    with serving_in(tmp_path / "local") as server:
        yield server


@pytest.fixture
def linked(tmp_path: Path, upstream: Server) -> Iterator[Server]:
    """The serve process under test, whose configured remote is ``upstream``."""
    with serving_in(tmp_path / "linked", {"LOCALHUB_REMOTE": upstream.url}) as server:
        yield server


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
