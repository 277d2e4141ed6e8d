"""Headless Chromium for the browser tests: Debian's package, driven by playwright.

No browser download is possible here, so the tests launch ``/usr/bin/chromium`` (installed
by ``.ci/run``) and skip with a reason where it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "chromium", "driver"]

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, and quiet on a closed network (no background, update or sync connections).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextmanager
def driver() -> Iterator[Any]:
    """The playwright driver: one per test process, since a second sync driver cannot start
    while one runs (tests get it from the session fixture ``playwright_driver``)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install "
                    "chromium) to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as running:
        yield running


@contextmanager
def chromium(playwright: Any, extra_args: Sequence[str] = ()) -> Iterator[Any]:
    """A headless Chromium launched by ``playwright`` (a playwright ``Browser``), closed on
    exit."""
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                          args=[*CHROMIUM_ARGS, *extra_args])
    try:
        yield launched
    finally:
        launched.close()
