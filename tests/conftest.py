"""Shared fixtures: every test gets its own LOCALHUB_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point LOCALHUB_HOME at a fresh folder; clear LOCALHUB_DB and the terminal's size and
    colour settings (a runner may set COLUMNS), so output is as when piped."""
    home = tmp_path / "home"
    monkeypatch.setenv("LOCALHUB_HOME", str(home))
    for name in ("LOCALHUB_DB", "LOCALHUB_REMOTE", "COLUMNS", "LINES", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return home
