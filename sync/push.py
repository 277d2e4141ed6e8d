"""Push: one coalesced operation at a time, idempotent across interruptions.

Create: never attempted against this remote -> mark attempted (committed) -> POST; attempted
before, or 409 -> look the natural key up -> absent: POST; equal: adopt; different: conflict.
Update: PATCH with If-Match when the link has an ETag (412 -> merge path); else GET, compare
with the base, three-way merge, PATCH what the remote lacks (always with ``state``, properties
as the whole merged map). Every success commits link + local merge + outbox ack together.

Batching (fewer durable commits per op): the engine hands ops over in windows
(:meth:`Pusher.windows`); the creates of a window are marked attempted in ONE commit before any
of them is sent, and the acknowledgements of plain creates (link + outbox ack) are committed
together at the end of the window, after :data:`ACK_SECONDS`, or before a child needs its
parent's link (updates are acknowledged one by one). A crash in between leaves markers without
links: the rerun looks those
entities up and adopts what the remote has, or POSTs what it lacks, as after any interrupted
create. At the end of a window, markers of creates that were never sent are removed again, so
a run that ends normally leaves the same state as one op at a time would.

The create path lives in :mod:`.push_create`, the update path in :mod:`.push_update`; this
module keeps the windows, markers, acknowledgements, waves and the dispatch of one op.

Concurrency: the ops of one rank within a window (a *wave*: models and serving environments,
or versions, or artifacts) are independent of each other (distinct entities; a child's parent
is of an earlier rank and linked before the wave starts), so :meth:`Pusher.run_wave` sends them
from a small thread pool, each thread with its own HTTP session. Local reads and writes stay
serialised by the store's connection lock; outcomes are reported in plan order. A kill -9 leaves
at most a window's creates marked and unacknowledged, handled as above.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import wait as wait_all
from itertools import islice
from typing import TYPE_CHECKING, Any

from localhub.errors import RemoteError
from localhub.rest_client import Fetched
from localhub.types import Artifact, BaseResource, ModelVersion, RegisteredModel

from . import push_create, push_update
from .contract import RemoteClient
from .ledger import Ledger, Local
from .outcome import BLOCKED, NOOP, NOT_RUN, Outcome, Rejected
from .push_create import ATTACH
from .snapshot import snapshot
from .workers import RemoteWorkers

if TYPE_CHECKING:
    from .plan import Op
    from .run import RunContext

__all__ = ["ACK_SECONDS", "WINDOWS", "Outcome", "Pusher", "Rejected"]

#: Window sizes, in ops: the first windows are small so that a short push acknowledges early.
WINDOWS = (8, 16, 32, 64)
#: Acknowledgements wait at most this long (s) for their window's commit (a slow remote).
ACK_SECONDS = 1.0



class Pusher:
    """Pushes the ops of one run (:mod:`.engine` hands them over in windows and waves)."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self._workers = RemoteWorkers(ctx.remote, ctx.workers, "localhub-push")
        self._lock = threading.Lock()  # the window's markers and acks, shared by the workers
        self.ledger: Ledger = ctx.ledger
        self.store = ctx.store
        #: URI rewrites sent in this run (report.rewrites).
        self.rewrites: list[dict[str, Any]] = []
        #: uids marked attempted by this run's window commit and not sent yet.
        self._premarked: set[str] = set()
        #: uids of updates whose content this run's window commit recorded, not sent yet.
        self._premarked_updates: set[str] = set()
        #: Acknowledgements not committed yet: (op, remote entity, etag), and their uids.
        self._acks: list[tuple[Op, BaseResource, str | None]] = []
        self._acked: set[str] = set()
        self._acks_since = 0.0

    # -- what the create and update paths report ----------------------------------------------

    def keep_marks(self, uid: str) -> bool:
        """``uid``'s request is sent (or its recorded update content is to stay): the marks
        the window's commit made for it stay at :meth:`settle`. Whether the window had marked
        its create attempted."""
        with self._lock:
            self._premarked_updates.discard(uid)
            if uid in self._premarked:
                self._premarked.discard(uid)
                return True
            return False

    def note_rewrite(self, op: Op, local: Local) -> None:
        """Record the URI rewrite of an artifact whose ``uri`` was sent (report.rewrites)."""
        if not hasattr(local.entity, "uri"):
            return
        rewrite = self.ctx.uri_rewriter.rewrite(getattr(local.entity, "uri", None))
        if rewrite is not None:
            op.uri_rewrite = rewrite
            self.rewrites.append({"entity": op.label, **rewrite})

    # -- batching -----------------------------------------------------------------------------

    def windows(self, ops: Iterator[Op]) -> Iterator[list[Op]]:
        """``ops`` in windows, each window's creates marked attempted in one commit. Call
        :meth:`settle` after each window (and when the walk ends early)."""
        sizes = iter(WINDOWS)
        size = next(sizes)
        while True:
            window = list(islice(ops, size))
            if not window:
                return
            self._premark(window)
            yield window
            size = next(sizes, size)

    def _premark(self, window: list[Op]) -> None:
        """One commit before the window's requests: create markers, and for creates and
        updates the content each request will give the remote (``sync_items.sent``)."""
        items: list[tuple[str, bool, dict[str, Any] | None]] = []
        with self.store.db.read() as conn:
            for op in window:
                item = self.ledger.item(conn, op.uid)
                if item is not None and item["set_aside_at"] is not None:
                    continue
                link = self.ledger.link(conn, op.uid)
                if link is None and item is not None and item["create_attempted_at"] is not None:
                    continue  # an earlier run's create: looked up first, marker kept
                local = self.store.load(conn, op.table, op.uid)
                if link is None:
                    sent = None if local is None else snapshot(self.ctx.outgoing(local.entity))
                    items.append((op.uid, True, sent))
                elif local is not None:
                    frozen = self.ledger.frozen_fields(conn, op.uid)
                    changes = push_update.local_changes(self, op, local, link, frozen)
                    items.append((op.uid, False, changes))
        if items:
            self.ledger.mark_sending(items)
            self._premarked.update(uid for uid, create, _ in items if create)
            self._premarked_updates.update(uid for uid, create, _ in items if not create)

    def flush(self, *, settle: bool = False) -> None:
        """Commit the pending acknowledgements in one transaction. ``settle`` (end of a
        window, no op running): also remove the attempted markers of this run's creates that
        were not sent (blocked, set aside, or the run stopped)."""
        with self._lock:
            unsent = sorted(self._premarked) if settle else []
            unsent_updates = sorted(self._premarked_updates) if settle else []
            if not self._acks and not unsent and not unsent_updates:
                return
            with self.store.db.write() as conn:
                for op, entity, etag in self._acks:
                    self.ledger.set_link(conn, op.uid, op.table, entity, etag)
                    self.ledger.ack(conn, op.uid, op.max_seq)
                if unsent or unsent_updates:
                    self.ledger.unmark_attempted(conn, unsent, unsent_updates)
            self._acks.clear()
            self._acked.clear()
            if settle:
                self._premarked.clear()
                self._premarked_updates.clear()

    def settle(self) -> None:
        self.flush(settle=True)

    def defer_ack(self, op: Op, entity: BaseResource, etag: str | None) -> None:
        """Acknowledge a plain create with the window (committed by :meth:`flush`)."""
        with self._lock:
            if not self._acks:
                self._acks_since = time.monotonic()
            self._acks.append((op, entity, etag))
            self._acked.add(op.uid)
            due = time.monotonic() - self._acks_since >= ACK_SECONDS
        if due:
            self.flush()

    # -- concurrency --------------------------------------------------------------------------

    @property
    def remote(self) -> RemoteClient:
        """This thread's remote: a worker's own clone, else the run's."""
        return self._workers.current()

    def run_wave(self, wave: list[Op], run: Callable[[Op], Any],
                 account: Callable[[Any], None]) -> bool:
        """``run(op)`` for each op of a wave (one rank), ``account(outcome)`` for each op that
        ran, in plan order. An outcome None means the run must stop: no op is started after
        it, and False is returned (ops already in flight in other threads finish first)."""
        if len(wave) == 1 or not self._workers.concurrent:
            for op in wave:
                outcome = run(op)
                if outcome is None:
                    return False
                account(outcome)
            return True
        if self._acks:
            self.flush()  # children of this wave read their parents' links
        stop = threading.Event()

        def task(op: Op) -> Any:
            if stop.is_set():
                return NOT_RUN
            outcome = run(op)
            if outcome is None:
                stop.set()
            return outcome

        futures = [self._workers.submit(task, op) for op in wave]
        wait_all(futures)
        self._workers.collect_sent()
        for future in futures:
            outcome = future.result()  # raises the first failure, in plan order
            if outcome is not None and outcome is not NOT_RUN:
                account(outcome)
        return not stop.is_set()

    def close(self) -> None:
        """Stop the worker threads and close their sessions."""
        self._workers.close()

    # -- entry --------------------------------------------------------------------------------

    def probe(self) -> bool:
        """Whether the remote answers a plain read now (one small listing): an op that keeps
        failing while it does is set aside instead of stopping the run."""
        try:
            next(iter(self.remote.list_all(RegisteredModel, page_size=1)), None)
        except RemoteError:
            return False
        return True

    def push(self, op: Op) -> Outcome | Rejected:
        with self.store.db.read() as conn:
            local = self.store.load(conn, op.table, op.uid)
            link = self.ledger.link(conn, op.uid)
            item = self.ledger.item(conn, op.uid)
            blocking = [c for c in self.ledger.open_conflicts(conn, op.uid)
                        if c["kind"] in ("create-different", "remote-missing",
                                         "remote-mismatch")]
            parent_link = parent_item = None
            if local is not None and local.parent_uid is not None:
                parent_link = self.ledger.link(conn, local.parent_uid)
                parent_item = self.ledger.item(conn, local.parent_uid)
                # A parent whose link is in doubt takes no children under its remote id.
                blocking += [c for c in self.ledger.open_conflicts(conn, local.parent_uid)
                             if c["kind"] == "remote-mismatch"]
        if local is not None and local.parent_uid in self._acked:
            self.flush()  # the parent's link is still pending: commit it, then read it
            with self.store.db.read() as conn:
                parent_link = self.ledger.link(conn, local.parent_uid)
                parent_item = self.ledger.item(conn, local.parent_uid)
        if local is None:
            return NOOP
        if item is not None and item["set_aside_at"] is not None:
            return Rejected(f"{op.label}: {item['message'] or 'set aside'}")
        if blocking:
            return BLOCKED
        standalone = isinstance(local.entity, Artifact) and local.parent_uid is None
        if isinstance(local.entity, (ModelVersion, Artifact)) and not standalone:
            if parent_link is None:
                if parent_item is not None and parent_item["set_aside_at"] is not None:
                    message = f"its parent was set aside: {parent_item['message']}"
                    self.ledger.set_aside(op.uid, message)
                    return Rejected(f"{op.label}: {message}")
                return BLOCKED
        parent_id = parent_link.remote_id if parent_link is not None else None
        if link is None:
            attempted = (item is not None and item["create_attempted_at"] is not None
                         and op.uid not in self._premarked)
            return push_create.create(self, op, local, parent_id, attempted,
                                      Ledger.sent(item))
        if ATTACH in op.fields:
            return push_create.attach(self, op, local, link, parent_id)
        return push_update.update(self, op, local, link)

    def lookup(self, entity: BaseResource, parent_id: str | None) -> Fetched | None:
        """The remote entity under ``entity``'s natural key (registration.group_children)."""
        return push_create.lookup(self, entity, parent_id)
