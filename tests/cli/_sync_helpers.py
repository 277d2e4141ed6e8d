"""Fixtures of the sync CLI tests: a real `localhub serve` as the remote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import API, Server, serving

__all__ = ["API", "Server", "server"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A real `localhub serve` on a free port with its own database."""
    with serving(tmp_path / "srv-home", tmp_path / "remote.db", tmp_path / "serve.log") as srv:
        yield srv
