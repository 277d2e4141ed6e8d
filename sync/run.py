"""One sync run's context: what push and pull read, built once per run by the engine.

Also the progress reporting of a run: ``progress(phase, done, total)`` callbacks, and the
per-entity count of a pull (:class:`PullMeter`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from .uri_rewrite import UriRewriter

if TYPE_CHECKING:
    from .contract import LocalStore, RemoteClient
    from .ifmatch import IfMatch
    from .ledger import Ledger

__all__ = ["PULL_KINDS", "Policy", "Progress", "PullCounts", "PullMeter", "RunContext"]

Policy = Literal["manual", "ours", "theirs"]
#: progress(phase, done, total): phase "push" counts operations, "pull" counts entities
#: (total 0: not known, see :class:`PullMeter`).
Progress = Callable[[str, int, int], None]
#: The pull's per-kind counts, by the names a progress line shows, in pull order.
PULL_KINDS = ("models", "versions", "artifacts", "serving environments")


@runtime_checkable
class PullCounts(Protocol):
    """A progress callback that also takes the pull's per-kind counts: ``pull_counts`` is
    called (names of :data:`PULL_KINDS` -> entities done) just before each ``pull`` tick."""

    def pull_counts(self, counts: Mapping[str, int]) -> None: ...


@dataclass(frozen=True)
class RunContext:
    """What push and pull need of a run: the two sides, the options and the callbacks."""

    store: LocalStore
    ledger: Ledger
    remote: RemoteClient
    #: The model names the run is limited to (None: all).
    models: frozenset[str] | None
    on_conflict: Policy
    use_etags: bool
    if_match: IfMatch
    uri_rewriter: UriRewriter
    progress: Progress | None
    #: Requests sent at once (creates/updates of one rank, version listings of a pull).
    workers: int

    def tick(self, phase: str, done: int, total: int) -> None:
        """Report progress (nothing without a callback)."""
        if self.progress is not None:
            self.progress(phase, done, total)

    def outgoing(self, entity: Any) -> Any:
        """``entity`` as the remote should see it: its ``uri`` rewritten by ``uri_map``."""
        if not self.uri_rewriter or not hasattr(entity, "uri"):
            return entity
        new = self.uri_rewriter.apply(entity.uri)
        if new == entity.uri:
            return entity
        return replace(entity, uri=new)

    def localize(self, snap: dict[str, Any], entity: Any) -> dict[str, Any]:
        """A snapshot to write locally: a ``uri`` equal to the entity's rewritten one is the
        local URI (the local artifact keeps its own)."""
        if (self.uri_rewriter and "uri" in snap and hasattr(entity, "uri")
                and entity.uri != snap["uri"]
                and self.uri_rewriter.apply(entity.uri) == snap["uri"]):
            return {**snap, "uri": entity.uri}
        return snap


class PullMeter:
    """Entities a pull has handled (applied, found unchanged, skipped or held), per kind.

    The REST listings carry no total count, so the pull reports ``total`` 0 (unknown): a
    running count. A kind's count never passes the size of its listing once known (a retry
    after a fault handles some entities twice) and is set to it when the kind is finished, so
    the count only grows and ends at the number of entities listed.
    """

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(PULL_KINDS, 0)
        self._sizes: dict[str, int] = {}

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def listed(self, kind: str, size: int) -> None:
        """``kind``'s listing holds ``size`` entities."""
        self._sizes[kind] = size

    def add(self, kind: str, n: int) -> None:
        """``n`` more entities of ``kind`` handled."""
        if n <= 0 or kind not in self.counts:
            return
        with self._lock:
            before = self.counts[kind]
            after = before + n
            if kind in self._sizes:
                after = min(after, self._sizes[kind])
            if after == before:
                return
            self.counts[kind] = after
        self.report()

    def finish(self, kind: str) -> None:
        """Every entity of ``kind``'s listing is handled."""
        self.add(kind, self._sizes.get(kind, 0) - self.counts[kind])

    def report(self) -> None:
        """One ``pull`` tick (after the per-kind counts, for a callback that takes them)."""
        progress = self._progress
        if progress is None:
            return
        taker: object = progress  # a callable that may also be a PullCounts
        if isinstance(taker, PullCounts):
            taker.pull_counts(dict(self.counts))
        progress("pull", self.done, 0)
