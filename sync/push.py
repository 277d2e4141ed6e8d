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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from dataclasses import dataclass, replace
from enum import Enum
from itertools import islice
from typing import TYPE_CHECKING, Any

from localhub import outbox
from localhub.codec import from_json
from localhub.errors import (
    RemoteConflictError,
    RemoteNotFoundError,
    RemotePreconditionError,
)
from localhub.remote import Fetched
from localhub.types import (
    Artifact,
    BaseResource,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)

from .contract import RemoteClient
from .ledger import Ledger, Link, Local, dumps
from .merge import CP, merge
from .snapshot import apply_snapshot, content_hash, snapshot, update_body

if TYPE_CHECKING:
    from .engine import SyncEngine
    from .plan import Op

__all__ = ["ACK_SECONDS", "WINDOWS", "Outcome", "Pusher", "Rejected"]

#: Window sizes, in ops: the first windows are small so that a short push acknowledges early.
WINDOWS = (8, 16, 32, 64)
#: Acknowledgements wait at most this long (s) for their window's commit (a slow remote).
ACK_SECONDS = 1.0

class Outcome(Enum):
    """What pushing one op did."""

    CREATED = "created"
    ADOPTED = "adopted"
    UPDATED = "updated"
    NOOP = "noop"
    CONFLICT = "conflict"
    BLOCKED = "blocked"
    SET_ASIDE = "set_aside"
    #: An op a stopped wave did not start (run_wave).
    NOT_RUN = "not_run"


@dataclass(frozen=True)
class Rejected:
    """The remote rejected an op (400/422, or another error not worth a retry): set aside."""

    message: str


CREATED, ADOPTED, UPDATED, NOOP, CONFLICT, BLOCKED, SET_ASIDE, NOT_RUN = (
    Outcome.CREATED, Outcome.ADOPTED, Outcome.UPDATED, Outcome.NOOP, Outcome.CONFLICT,
    Outcome.BLOCKED, Outcome.SET_ASIDE, Outcome.NOT_RUN)
#: The outbox field of an artifact linked to a version after its create
#: (``SQLiteStore.attach_artifact``).
ATTACH = "version_id"


def _cls(entity: BaseResource) -> type[BaseResource]:
    return Artifact if isinstance(entity, Artifact) else type(entity)


def _split(names: set[str]) -> tuple[set[str], set[str]]:
    """Conflict field names -> (top-level fields, custom property keys)."""
    top = {n for n in names if not n.startswith(CP + ".")}
    keys = {n[len(CP) + 1:] for n in names if n.startswith(CP + ".")}
    return top, keys


def _same_content(sent: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Whether the remote holds exactly a recorded request's content (compared as JSON, the
    form it was recorded in)."""
    return dumps(sent) == dumps(theirs)


def _landed(base: dict[str, Any], theirs: dict[str, Any], sends: Sequence[dict[str, Any]]
            ) -> dict[str, Any]:
    """``base`` where the remote holds a value that one of our unacknowledged requests sent:
    that write of ours landed (its reply was lost), so it is what we last saw, not a change
    made by someone else. Per field, and per key of the custom properties."""
    if not sends:
        return base
    out = dict(base)
    for name, value in theirs.items():
        if name == CP:
            props = dict(out.get(CP) or {})
            theirs_props = value or {}
            for sent in sends:
                sent_props = sent.get(CP)
                if sent_props is None:
                    continue
                for key in set(sent_props) | set(theirs_props):
                    if dumps(sent_props.get(key)) == dumps(theirs_props.get(key)):
                        if key in theirs_props:
                            props[key] = theirs_props[key]
                        else:
                            props.pop(key, None)
            out[CP] = props
        elif any(name in sent and dumps(sent[name]) == dumps(value) for sent in sends):
            out[name] = value
    return out


class Pusher:
    def __init__(self, engine: SyncEngine, workers: int = 1) -> None:
        self.engine = engine
        self._remote = engine.remote
        self.workers = workers
        self._thread = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._clones: list[RemoteClient] = []
        self._lock = threading.Lock()
        self.ledger: Ledger = engine.ledger
        self.store = engine.store
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

    def _note_rewrite(self, op: Op, local: Local) -> None:
        if not hasattr(local.entity, "uri"):
            return
        rewrite = self.engine.uri_rewriter.rewrite(getattr(local.entity, "uri", None))
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
                    sent = None if local is None else snapshot(self.engine.outgoing(local.entity))
                    items.append((op.uid, True, sent))
                elif local is not None:
                    frozen = self.ledger.frozen_fields(conn, op.uid)
                    items.append((op.uid, False, self._local_changes(op, local, link, frozen)))
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

    def _defer_ack(self, op: Op, entity: BaseResource, etag: str | None) -> None:
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
        """This thread's remote: a worker's own clone, else the engine's."""
        clone: RemoteClient | None = getattr(self._thread, "remote", None)
        return clone if clone is not None else self._remote

    def _concurrent(self) -> bool:
        """Threads once the remote's API version is known (a clone then speaks it from its
        first request); each thread sends through its own clone of the remote client."""
        return self.workers > 1 and self._remote.api_confirmed

    def _clone(self) -> RemoteClient:
        clone = self._remote.clone()
        with self._lock:
            self._clones.append(clone)
        return clone

    def run_wave(self, wave: list[Op], run: Callable[[Op], Any],
                 account: Callable[[Any], None]) -> bool:
        """``run(op)`` for each op of a wave (one rank), ``account(outcome)`` for each op that
        ran, in plan order. An outcome None means the run must stop: no op is started after
        it, and False is returned (ops already in flight in other threads finish first)."""
        if len(wave) == 1 or not self._concurrent():
            for op in wave:
                outcome = run(op)
                if outcome is None:
                    return False
                account(outcome)
            return True
        if self._acks:
            self.flush()  # children of this wave read their parents' links
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="localhub-push")
        stop = threading.Event()

        def task(op: Op) -> Any:
            if stop.is_set():
                return NOT_RUN
            if getattr(self._thread, "remote", None) is None:
                self._thread.remote = self._clone()
            outcome = run(op)
            if outcome is None:
                stop.set()
            return outcome

        futures = [self._pool.submit(task, op) for op in wave]
        wait_all(futures)
        self._collect_sent()
        for future in futures:
            outcome = future.result()  # raises the first failure, in plan order
            if outcome is not None and outcome is not NOT_RUN:
                account(outcome)
        return not stop.is_set()

    def _collect_sent(self) -> None:
        """The clones' requests, appended to the engine remote's ``sent`` (report.requests)."""
        with self._lock:
            for clone in self._clones:
                self._remote.sent.extend(clone.sent)
                self._remote.requests_sent += clone.requests_sent
                clone.sent.clear()
                clone.requests_sent = 0

    def close(self) -> None:
        """Stop the worker threads and close their sessions."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._collect_sent()
        for clone in self._clones:
            clone.close()
        self._clones.clear()

    # -- entry --------------------------------------------------------------------------------

    def push(self, op: Op) -> Outcome:
        with self.store.db.read() as conn:
            local = self.store.load(conn, op.table, op.uid)
            link = self.ledger.link(conn, op.uid)
            item = self.ledger.item(conn, op.uid)
            blocking = [c for c in self.ledger.open_conflicts(conn, op.uid)
                        if c["kind"] in ("create-different", "remote-missing")]
            parent_link = parent_item = None
            if local is not None and local.parent_uid is not None:
                parent_link = self.ledger.link(conn, local.parent_uid)
                parent_item = self.ledger.item(conn, local.parent_uid)
        if local is not None and local.parent_uid in self._acked:
            self.flush()  # the parent's link is still pending: commit it, then read it
            with self.store.db.read() as conn:
                parent_link = self.ledger.link(conn, local.parent_uid)
                parent_item = self.ledger.item(conn, local.parent_uid)
        if local is None:
            return NOOP
        if item is not None and item["set_aside_at"] is not None:
            return SET_ASIDE
        if blocking:
            return BLOCKED
        standalone = isinstance(local.entity, Artifact) and local.parent_uid is None
        if isinstance(local.entity, (ModelVersion, Artifact)) and not standalone:
            if parent_link is None:
                if parent_item is not None and parent_item["set_aside_at"] is not None:
                    self.ledger.set_aside(op.uid, f"its parent was set aside: "
                                                  f"{parent_item['message']}")
                    return SET_ASIDE
                return BLOCKED
        parent_id = parent_link.remote_id if parent_link is not None else None
        if link is None:
            attempted = (item is not None and item["create_attempted_at"] is not None
                         and op.uid not in self._premarked)
            return self._create(op, local, parent_id, attempted, Ledger.sent(item))
        if ATTACH in op.fields:
            return self._attach(op, local, link, parent_id)
        return self._update(op, local, link)

    # -- attach -------------------------------------------------------------------------------

    def _attach(self, op: Op, local: Local, link: Link, version_id: str | None) -> Outcome:
        """Link a remote artifact created without a version to its version: the upsert by
        ``id`` of kubeflow/model-registry (``POST /model_versions/{id}/artifacts``), which
        links the existing artifact instead of copying it; then the other changes, if any."""
        op.fields.discard(ATTACH)
        if version_id is None:  # attached locally to a version the remote does not know
            return BLOCKED
        body: dict[str, Any] = {"artifactType": local.entity.kind, "id": link.remote_id}
        if link.base.get("state") is not None:
            # The Go server's upsert decodes a missing state as the default: send it as seen.
            body["state"] = link.base["state"]
        fetched = self.remote.attach_artifact(version_id, body)
        if op.fields:
            with self.store.db.write() as conn:
                link = self.ledger.set_link(conn, op.uid, op.table, fetched.entity,
                                            fetched.etag, pin=False)
            return self._update(op, local, link, remote_now=fetched)
        self._commit(op, local, fetched, to_local=None, conflicts={}, link=link)
        return UPDATED

    # -- create -------------------------------------------------------------------------------

    def _lookup(self, entity: BaseResource, parent_id: str | None) -> Fetched | None:
        if isinstance(entity, RegisteredModel):
            return self.remote.find_model(entity.name)
        if isinstance(entity, ServingEnvironment):
            return self.remote.find_serving_environment(entity.name)
        if isinstance(entity, ModelVersion):
            assert parent_id is not None
            return self.remote.find_version(entity.name, parent_id)
        assert isinstance(entity, Artifact) and entity.name
        if parent_id is None:
            return None  # an artifact of no version has no natural key to look up
        return self.remote.find_artifact(entity.name, parent_id, entity.kind)

    def _create(self, op: Op, local: Local, parent_id: str | None, attempted: bool,
                sends: list[dict[str, Any]]) -> Outcome:
        entity = local.entity
        if attempted:
            found = self._lookup(entity, parent_id)
            if found is not None:
                return self._adopt_or_conflict(op, local, found, sends)
        if op.uid in self._premarked:
            self._premarked.discard(op.uid)  # sent from now on: a retry looks it up first
        else:
            sent = snapshot(self.engine.outgoing(entity))
            self.ledger.mark_attempted(op.uid, sent)
            sends = [*sends, sent]
        try:
            created = self.remote.post(replace(self.engine.outgoing(entity), id=None),
                                         parent_id=parent_id)
        except RemoteConflictError as exc:
            found = self._lookup(entity, parent_id)
            if found is None:
                self.ledger.set_aside(op.uid, exc.message)
                return SET_ASIDE
            return self._adopt_or_conflict(op, local, found, sends)
        self._defer_ack(op, created.entity, created.etag)
        self._note_rewrite(op, local)
        return CREATED

    def _adopt_or_conflict(self, op: Op, local: Local, found: Fetched,
                           sends: Sequence[dict[str, Any]] = ()) -> Outcome:
        mine, theirs = snapshot(self.engine.outgoing(local.entity)), snapshot(found.entity)
        if mine == theirs:
            with self.store.db.write() as conn:
                self.ledger.set_link(conn, op.uid, op.table, found.entity, found.etag)
                self.ledger.ack(conn, op.uid, op.max_seq)
            return ADOPTED
        differing = sorted(n for n in set(mine) | set(theirs) if mine.get(n) != theirs.get(n))
        if any(_same_content(sent, theirs) for sent in sends):
            # Our own create landed and its reply was lost; the local changes made since then
            # go as an update over it.
            with self.store.db.write() as conn:
                link = self.ledger.set_link(conn, op.uid, op.table, found.entity, found.etag)
            op.fields = set(differing)
            self._update(op, local, link, remote_now=found)
            return ADOPTED
        policy = self.engine.on_conflict
        with self.store.db.write() as conn:
            self.ledger.add_conflict(
                conn, local=local, kind="create-different", fields_=differing, base={},
                mine=mine, theirs=theirs, remote_id=str(found.entity.id),
                message=f"{op.label} already exists on the remote with different content",
                resolution=None if policy == "manual" else f"policy:{policy}")
            if policy == "manual":
                return CONFLICT
            link = self.ledger.set_link(conn, op.uid, op.table, found.entity, found.etag)
            if policy == "theirs":
                self.store.write_entity(conn, local, apply_snapshot(
                    local.entity, self.engine.localize(theirs, local.entity)))
                self.ledger.ack(conn, op.uid, op.max_seq)
                return CONFLICT
        # policy ours: push the local values over the adopted entity right away.
        op.fields = set(differing)
        self._update(op, local, link, remote_now=found)
        return CONFLICT

    # -- update -------------------------------------------------------------------------------

    def _update(self, op: Op, local: Local, link: Link, remote_now: Fetched | None = None
                ) -> Outcome:
        cls = _cls(local.entity)
        with self.store.db.read() as conn:
            frozen = self.ledger.frozen_fields(conn, op.uid)
            sends = Ledger.sent(self.ledger.item(conn, op.uid))
        current = remote_now
        try:
            if current is None and link.etag and self.engine.use_etags:
                body = self._fast_body(op, local, link, frozen)
                self._premarked_updates.discard(op.uid)  # sent: its recorded content stays
                try:
                    fetched = self.remote.patch(type(local.entity), link.remote_id, body,
                                                if_match=link.etag)
                except RemotePreconditionError as exc:
                    current = self._current_from_412(cls, exc, link)
                else:
                    # Acknowledged at once (not batched): a crash before a batched ack
                    # followed by a local edit would give an update-update conflict against
                    # our own PATCH (tests/reliability/test_regress_kill.py).
                    self._commit(op, local, fetched, to_local=None, conflicts={}, link=link)
                    if "uri" in op.fields:
                        self._note_rewrite(op, local)
                    return UPDATED
            for _ in range(3):
                if current is None:
                    current = self.remote.fetch(cls, link.remote_id)
                outcome = self._merge_and_patch(op, local, link, current, frozen, sends)
                if outcome is not None:
                    return outcome
                current = None  # 412 on the merged PATCH: read again
            return BLOCKED
        except RemoteNotFoundError as exc:
            with self.store.db.write() as conn:
                if not any(c["kind"] == "remote-missing"
                           for c in self.ledger.open_conflicts(conn, op.uid)):
                    self.ledger.add_conflict(
                        conn, local=local, kind="remote-missing", fields_=[], base=link.base,
                        mine=snapshot(local.entity), theirs={}, remote_id=link.remote_id,
                        message=exc.message)
            return CONFLICT

    def _current_from_412(self, cls: type[BaseResource], exc: RemotePreconditionError,
                          link: Link) -> Fetched | None:
        if isinstance(exc.body, dict) and exc.body.get("id") == link.remote_id:
            try:
                return Fetched(from_json(cls, exc.body), None, exc.body)
            except ValueError:
                return None
        return None

    def _local_changes(self, op: Op, local: Local, link: Link, frozen: set[str]
                       ) -> dict[str, Any]:
        """The local snapshot with everything not changed locally (or frozen) at base."""
        top_frozen, key_frozen = _split(frozen)
        mine = snapshot(self.engine.outgoing(local.entity))
        eff = dict(link.base)
        for name in mine:
            if name == CP:
                continue
            if name in op.fields and name not in top_frozen:
                eff[name] = mine[name]
        if CP in op.fields:
            props = dict(mine.get(CP) or {})
            base_props = link.base.get(CP) or {}
            for key in key_frozen:
                if key in base_props:
                    props[key] = base_props[key]
                else:
                    props.pop(key, None)
            eff[CP] = props
        return eff

    def _fast_body(self, op: Op, local: Local, link: Link, frozen: set[str]) -> dict[str, Any]:
        eff = self._local_changes(op, local, link, frozen)
        target = apply_snapshot(local.entity, eff)
        names = {n for n in eff if eff.get(n) != link.base.get(n)} | {"state"}
        return update_body(target, names)

    def _merge_and_patch(self, op: Op, local: Local, link: Link, current: Fetched,
                         frozen: set[str], sends: list[dict[str, Any]]) -> Outcome | None:
        theirs = snapshot(current.entity)
        eff = self._local_changes(op, local, link, frozen)
        unchanged = (int(current.entity.last_update_time_since_epoch or 0)
                     == link.base_update_time and content_hash(theirs) == link.base_hash)
        base = theirs if unchanged else _landed(link.base, theirs, sends)
        policy = self.engine.on_conflict
        archived = (not unchanged and base.get("state") != "ARCHIVED"
                    and theirs.get("state") == "ARCHIVED" and eff.get("state") != "ARCHIVED")
        if archived:
            # Remote archived while we edited: none of our edits is written by itself.
            names: set[str] = set()
            for n in eff:
                if n == CP:
                    bp, lp = base.get(CP) or {}, eff.get(CP) or {}
                    names |= {f"{CP}.{k}" for k in set(bp) | set(lp) if bp.get(k) != lp.get(k)}
                elif n != "state" and eff.get(n) != base.get(n):
                    names.add(n)
            conflicts = {n: self._triple(n, base, eff, theirs) for n in names}
            to_remote, to_local = dict(theirs), dict(theirs)
            if conflicts and policy != "theirs":
                to_local = self._override(theirs, conflicts, side=1)
            if conflicts and policy == "ours":
                to_remote = to_local
            kind = "archived-vs-edit"
        else:
            result = merge(base, eff, theirs)
            conflicts, to_remote, to_local = result.conflicts, result.to_remote, result.to_local
            if conflicts and policy == "ours":
                to_remote = self._override(to_remote, conflicts, side=1)
            elif conflicts and policy == "theirs":
                to_local = self._override(to_local, conflicts, side=2)
            kind = "update-update"
        to_local = self._keep_frozen(to_local, local, frozen)
        target = apply_snapshot(current.entity, to_remote)
        changed = {n for n in to_remote if to_remote.get(n) != theirs.get(n)}
        fetched = current
        if changed:
            body = update_body(target, changed | {"state"})
            self._premarked_updates.discard(op.uid)  # sent: its recorded content stays
            try:
                fetched = self.remote.patch(type(local.entity), link.remote_id, body,
                                            if_match=current.etag
                                            if self.engine.use_etags else None)
            except RemotePreconditionError:
                return None
        self._commit(op, local, fetched, to_local=to_local, conflicts=conflicts, link=link,
                     conflict_kind=kind)
        if changed and "uri" in changed:
            self._note_rewrite(op, local)
        if conflicts:
            return CONFLICT
        return UPDATED if changed else NOOP

    @staticmethod
    def _keep_frozen(snap: dict[str, Any], local: Local, frozen: set[str]) -> dict[str, Any]:
        """Fields of open conflicts keep their local values until resolved."""
        if not frozen:
            return snap
        mine = snapshot(local.entity)
        top, keys = _split(frozen)
        out = dict(snap)
        for name in top:
            if name in mine:
                out[name] = mine[name]
        if keys:
            props = dict(out.get(CP) or {})
            for key in keys:
                if key in (mine.get(CP) or {}):
                    props[key] = mine[CP][key]
                else:
                    props.pop(key, None)
            out[CP] = props
        return out

    @staticmethod
    def _triple(name: str, base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]
                ) -> tuple[Any, Any, Any]:
        if name.startswith(CP + "."):
            key = name[len(CP) + 1:]
            return ((base.get(CP) or {}).get(key), (mine.get(CP) or {}).get(key),
                    (theirs.get(CP) or {}).get(key))
        return base.get(name), mine.get(name), theirs.get(name)

    @staticmethod
    def _override(snap: dict[str, Any], conflicts: dict[str, tuple[Any, Any, Any]], side: int
                  ) -> dict[str, Any]:
        from .merge import ABSENT

        out = dict(snap)
        props = dict(out.get(CP) or {})
        for name, triple in conflicts.items():
            value = triple[side]
            if name.startswith(CP + "."):
                key = name[len(CP) + 1:]
                if value is ABSENT or value is None:
                    props.pop(key, None)
                else:
                    props[key] = value
            else:
                out[name] = value
        if CP in out or props:
            out[CP] = props
        return out

    def _commit(self, op: Op, local: Local, fetched: Fetched, *, to_local: dict[str, Any] | None,
                conflicts: dict[str, tuple[Any, Any, Any]], link: Link,
                conflict_kind: str = "update-update") -> None:
        policy = self.engine.on_conflict
        with self.store.db.write() as conn:
            fresh = self.store.load(conn, op.table, op.uid)
            if fresh is not None and to_local is not None:
                newer = outbox.fields_after(conn, op.uid, op.max_seq)
                to_local = self.engine.localize(to_local, fresh.entity)
                names = {n for n in to_local if n not in newer}
                updated = apply_snapshot(fresh.entity, to_local, names)
                if updated is not fresh.entity:
                    self.store.write_entity(conn, fresh, updated)
            self.ledger.set_link(conn, op.uid, op.table, fetched.entity, fetched.etag)
            self.ledger.ack(conn, op.uid, op.max_seq)
            if conflicts:
                from .merge import ABSENT

                def clean(v: Any) -> Any:
                    return None if v is ABSENT else v

                names_ = sorted(conflicts)
                self.ledger.add_conflict(
                    conn, local=local, kind=conflict_kind, fields_=names_,
                    base={n: clean(conflicts[n][0]) for n in names_},
                    mine={n: clean(conflicts[n][1]) for n in names_},
                    theirs={n: clean(conflicts[n][2]) for n in names_},
                    remote_id=link.remote_id,
                    message=f"{op.label}: changed on both sides",
                    resolution=None if policy == "manual" else f"policy:{policy}")
