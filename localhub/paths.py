"""Where localhub keeps its files by default, and how it writes private ones.

The data folder is created 0700 and the files holding registry data or settings (database,
config, bundles) 0600, whatever the umask: they name models, remotes and token variables
that other local users have no business reading.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "create_private_file", "data_dir", "default_db_path",
           "private_dir"]


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


def private_dir(folder: Path) -> Path:
    """``folder``, created with mode 0700 when missing (missing parents get the default mode).

    An existing folder keeps its mode: the user may share it on purpose.
    """
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        return folder  # created meanwhile by another process
    os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask; be exact
    return folder


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; True when it was created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    return True


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all, mode 0600.

    The bytes go to a new file created exclusively (``mkstemp``) in the target folder, then
    renamed over ``path``: a pre-existing file or symlink at ``path`` is replaced, never
    written through, and a planted ``path.tmp`` is never used.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
