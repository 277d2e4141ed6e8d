"""The ``localhub`` command (installed as ``localhub.cli``)."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
