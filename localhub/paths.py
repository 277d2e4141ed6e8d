"""Where localhub keeps its files by default."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["data_dir", "default_db_path"]


def data_dir() -> Path:
    """``$LOCALHUB_HOME``, else the platform's per-user data folder for localhub."""
    home = os.environ.get("LOCALHUB_HOME")
    if home:
        return Path(home).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "localhub"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "localhub"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "localhub"


def default_db_path() -> Path:
    """``$LOCALHUB_DB``, else ``registry.db`` in :func:`data_dir`."""
    explicit = os.environ.get("LOCALHUB_DB")
    if explicit:
        return Path(explicit).expanduser()
    return data_dir() / "registry.db"
