"""One sync per database and remote: an exclusive ``flock`` on a file next to the database.

The kernel drops the lock when the process dies (even on kill -9), so a crash never leaves a
stale lock behind. A second sync waits up to ``wait`` seconds, then raises SyncLockedError.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from types import TracebackType

from localhub.errors import SyncLockedError

__all__ = ["SyncLock"]

_MEMORY_LOCKS: dict[str, threading.Lock] = {}


class SyncLock:
    def __init__(self, db_path: str, remote: str, *, wait: float = 2.0,
                 sleep: float = 0.05) -> None:
        self.db_path = db_path
        self.remote = remote
        self.wait = wait
        self.sleep = sleep
        digest = hashlib.sha256(remote.encode()).hexdigest()[:12]
        self.path = None if db_path == ":memory:" else f"{db_path}.sync-{digest}.lock"
        self._fd: int | None = None
        self._mem: threading.Lock | None = None

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        if self.path is None:
            self._mem = _MEMORY_LOCKS.setdefault(self.remote, threading.Lock())
            if not self._mem.acquire(timeout=self.wait):
                raise self._error()
            return
        # fcntl is POSIX-only: imported where a file lock is taken, so that the sync package
        # itself imports on every platform
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise self._error() from None
                time.sleep(self.sleep)
        self._fd = fd

    def _error(self) -> SyncLockedError:
        return SyncLockedError(
            f"another sync of {self.db_path} with {self.remote} is running (lock "
            f"{self.path or 'in memory'}); wait for it to finish and run sync again")

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._mem is not None:
            self._mem.release()
            self._mem = None

    def __enter__(self) -> SyncLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
