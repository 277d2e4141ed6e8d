"""Files dropped into a drop folder, with their modification times set in the past."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["backdate", "make_files"]


def make_files(folder: Path, *names: str, age: float = 60.0) -> Path:
    """Create files under ``folder`` and backdate everything by ``age`` seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"model bytes")
    backdate(folder, age)
    return folder


def backdate(folder: Path, age: float = 60.0) -> None:
    """Set the mtime of a folder tree (and its parents up to the drop folder) in the past."""
    then = time.time() - age
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (then, then))
    os.utime(folder, (then, then))
