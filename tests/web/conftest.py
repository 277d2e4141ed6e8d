"""Fixtures: real ``localhub serve`` processes (the local one and an upstream) and Debian's
chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium
from tests.support.servers import Server, serving_in


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
def browser(playwright_driver: Any) -> Iterator[Any]:
    """Debian's chromium, headless (skipped where it is not installed)."""
    with chromium(playwright_driver) as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page (own cookies) with a short default timeout."""
    context = browser.new_context()
    context.set_default_timeout(float(os.environ.get("LOCALHUB_WEB_TIMEOUT_MS", "15000")))
    try:
        yield context.new_page()
    finally:
        context.close()
