"""Shared fixtures: every test gets its own LOCALHUB_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point LOCALHUB_HOME at a fresh folder and clear LOCALHUB_DB."""
    home = tmp_path / "home"
    monkeypatch.setenv("LOCALHUB_HOME", str(home))
    monkeypatch.delenv("LOCALHUB_DB", raising=False)
    return home
