"""Listing model versions' artifacts, several at once, to place pulled artifacts.

``/artifacts`` does not say which version an artifact belongs to: the pull lists
``/model_versions/{id}/artifacts`` of candidate versions until every artifact it looks for is
found. At tens of milliseconds per request that walk dominates a first mirror, so the
listings run in worker threads, each through its own clone of the remote client (as the push's
workers do); the caller's thread keeps every store write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import as_completed, wait
from typing import TYPE_CHECKING

from localhub.types import Artifact, BaseResource

from .workers import RemoteWorkers

if TYPE_CHECKING:
    from .contract import RemoteClient

__all__ = ["READS_PER_WORKER", "VersionLister"]

#: Listings in flight per push worker: reads are light for the server and a mirror waits on
#: round trips, not on the server's work.
READS_PER_WORKER = 8

Listing = tuple[str, str, list[BaseResource]]


class VersionLister:
    """Lists versions' artifacts with up to ``workers`` requests in flight."""

    def __init__(self, remote: RemoteClient, workers: int) -> None:
        self.remote = remote
        self.workers = workers
        self._workers = RemoteWorkers(remote, workers, "localhub-pull")

    def listings(self, versions: Iterable[tuple[str, str]], wanted: Callable[[], bool]
                 ) -> Iterator[Listing]:
        """(remote id, uid, artifacts) for each of ``versions`` (remote id, uid) while
        ``wanted()``, in completion order. A failed listing stops new ones; those in flight
        are still handed out, then the first failure is raised."""
        # One thread until the remote's API version is known: a clone then speaks it.
        if not self._workers.concurrent:
            for remote_id, uid in versions:
                if not wanted():
                    return
                yield remote_id, uid, list(self.remote.list_all(Artifact, version_id=remote_id))
            return
        # Every listing is queued at once, so that the workers go on while this thread
        # applies what they found; ``stop`` makes the queued ones return without a request.
        stop = threading.Event()
        futures = {self._workers.submit(self._list, remote_id, stop): (remote_id, uid)
                   for remote_id, uid in versions}
        failure: BaseException | None = None
        try:
            for future in as_completed(futures):
                exc = future.exception()
                if exc is not None:
                    failure = failure or exc
                    stop.set()
                    continue
                found = future.result()
                if found is not None:
                    remote_id, uid = futures[future]
                    yield remote_id, uid, found
                if not wanted():
                    stop.set()
        finally:
            # The caller stopped early (or failed): no request outlives the pull.
            stop.set()
            for future in futures:
                future.cancel()
            wait(futures)
            self._workers.collect_sent()
        if failure is not None:
            raise failure

    def _list(self, remote_id: str, stop: threading.Event) -> list[BaseResource] | None:
        if stop.is_set():
            return None
        return list(self._workers.current().list_all(Artifact, version_id=remote_id))

    def close(self) -> None:
        """Stop the worker threads and close their sessions."""
        self._workers.close()
