"""Shared fixtures: every test gets its own LOCALHUB_HOME."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import driver


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point LOCALHUB_HOME at a fresh folder; clear LOCALHUB_DB and the terminal's size and
    colour settings (a runner may set COLUMNS), so output is as when piped."""
    home = tmp_path / "home"
    monkeypatch.setenv("LOCALHUB_HOME", str(home))
    for name in ("LOCALHUB_DB", "LOCALHUB_REMOTE", "COLUMNS", "LINES", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    """The one playwright driver of this test process (skips without Debian's chromium)."""
    with driver() as running:
        yield running
