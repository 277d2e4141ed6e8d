"""Worker threads that talk to the remote, each through its own clone of the remote client.

A ``requests`` session is not shared between threads: each worker sends through a clone
(same URL, token, TLS settings and transport) made on its first task. The clones' request
counts are added back to the main client, so the report counts every request once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract import RemoteClient

__all__ = ["RemoteWorkers"]


class RemoteWorkers:
    """Up to ``workers`` threads, each sending through its own clone of ``remote``."""

    def __init__(self, remote: RemoteClient, workers: int, name: str) -> None:
        self.remote = remote
        self.workers = workers
        self._name = name
        self._thread = threading.local()
        self._lock = threading.Lock()
        self._clones: list[RemoteClient] = []
        self._pool: ThreadPoolExecutor | None = None

    @property
    def concurrent(self) -> bool:
        """Threads once the remote's API version is known (a clone then speaks it from its
        first request)."""
        return self.workers > 1 and self.remote.api_confirmed

    def current(self) -> RemoteClient:
        """This thread's remote: a worker's own clone, else the main client."""
        clone: RemoteClient | None = getattr(self._thread, "remote", None)
        return clone if clone is not None else self.remote

    def submit(self, task: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``task(*args)`` in a worker thread that sends through its own clone."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=self._name)
        return self._pool.submit(self._in_worker, task, *args)

    def _in_worker(self, task: Callable[..., Any], *args: Any) -> Any:
        if getattr(self._thread, "remote", None) is None:
            clone = self.remote.clone()
            with self._lock:
                self._clones.append(clone)
            self._thread.remote = clone
        return task(*args)

    def collect_sent(self) -> None:
        """The clones' requests, added to the main client's (``report.requests``)."""
        with self._lock:
            for clone in self._clones:
                self.remote.sent.extend(clone.sent)
                self.remote.requests_sent += clone.requests_sent
                clone.sent.clear()
                clone.requests_sent = 0

    def close(self) -> None:
        """Stop the threads and close their clones' sessions."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self.collect_sent()
        for clone in self._clones:
            clone.close()
        self._clones.clear()
