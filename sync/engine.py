"""The sync engine: push the outbox, then pull, under one lock, with bounded retries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from localhub.errors import RemoteAuthError, RemoteError, RemoteRejectedError
from localhub.store import SQLiteStore

from .lock import SyncLock
from .plan import Op, build_plan
from .state import Ledger

if TYPE_CHECKING:
    from localhub.remote import RemoteRegistry

__all__ = ["Policy", "SyncEngine", "SyncReport"]

Policy = Literal["manual", "ours", "theirs"]


@dataclass
class SyncReport:
    """What one sync did. ``remaining`` = queued operations still not acknowledged."""

    remote: str
    created: int = 0
    adopted: int = 0
    updated: int = 0
    pulled: int = 0
    conflicts: int = 0
    set_aside: int = 0
    remaining: int = 0
    requests: int = 0
    dry_run: bool = False
    #: Why the run stopped early (remote unreachable after retries), else None.
    stopped: str | None = None
    #: Messages of operations set aside (400/422) in this run.
    errors: list[str] = field(default_factory=list)
    #: Dry run: the operations it would send, with their requests.
    plan: list[dict[str, Any]] = field(default_factory=list)
    #: Open conflicts visible at the end of the run (ids).
    open_conflicts: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SyncEngine:
    """Sync ``store`` with ``remote`` (a :class:`localhub.remote.RemoteRegistry`)."""

    def __init__(self, store: SQLiteStore, remote: RemoteRegistry, *, on_conflict: Policy = "manual",
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 5,
                 backoff: float = 0.2, backoff_cap: float = 10.0, lock_wait: float = 2.0,
                 use_etags: bool = True, rng: random.Random | None = None) -> None:
        if on_conflict not in ("manual", "ours", "theirs"):
            raise ValueError(f"on_conflict must be manual, ours or theirs, got {on_conflict!r}")
        self.store = store
        self.remote = remote
        self.on_conflict: Policy = on_conflict
        self.clock = clock
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.lock_wait = lock_wait
        self.use_etags = use_etags
        self.rng = rng or random.Random()
        self.ledger = Ledger(store, remote.base_url)

    # -- entry --------------------------------------------------------------------------------

    def run(self, *, push: bool = True, pull: bool = True, dry_run: bool = False) -> SyncReport:
        report = SyncReport(remote=self.remote.base_url, dry_run=dry_run)
        sent_before = len(self.remote.sent)
        if dry_run:
            return self._dry_run(report)
        with SyncLock(self.store.path, self.remote.base_url, wait=self.lock_wait):
            if push:
                self._push(report)
            if pull and report.stopped is None:
                self._pull(report)
            with self.store.db.write() as conn:
                now = str(self.store.clock())
                if push:
                    self.ledger.set_state(conn, "last_push", now)
                if pull and report.stopped is None:
                    self.ledger.set_state(conn, "last_pull", now)
        report.remaining = len({row.uid for row in build_plan(self.store)})
        report.requests = len(self.remote.sent) - sent_before
        report.open_conflicts = self._open_ids()
        return report

    def _open_ids(self) -> list[int]:
        with self.store.db.read() as conn:
            return [int(r[0]) for r in conn.execute(
                "SELECT id FROM sync_conflicts WHERE remote = ? AND resolved_at IS NULL "
                "ORDER BY id", (self.ledger.remote,))]

    # -- push ---------------------------------------------------------------------------------

    def _push(self, report: SyncReport) -> None:
        from .push import ADOPTED, CONFLICT, CREATED, SET_ASIDE, UPDATED, Pusher

        self.ledger.clear_set_aside()
        pusher = Pusher(self)
        for op in build_plan(self.store):
            if not op.supported:
                continue
            outcome = self._with_retries(op, lambda: pusher.push(op), report)  # noqa: B023
            if outcome is None:
                return
            if outcome == CREATED:
                report.created += 1
            elif outcome == ADOPTED:
                report.adopted += 1
            elif outcome == UPDATED:
                report.updated += 1
            elif outcome == CONFLICT:
                report.conflicts += 1
            elif outcome == SET_ASIDE:
                report.set_aside += 1
            if isinstance(outcome, tuple):  # (SET_ASIDE, message) from a rejection
                report.set_aside += 1
                report.errors.append(outcome[1])

    def _with_retries(self, op: Op, call: Callable[[], Any], report: SyncReport) -> Any:
        """Run one op; retry retryable errors with backoff; None = the run must stop."""
        attempt = 0
        while True:
            try:
                return call()
            except RemoteAuthError:
                raise
            except RemoteRejectedError as exc:
                return self._reject(op, exc)
            except RemoteError as exc:
                if not exc.retryable:
                    return self._reject(op, exc)
                attempt += 1
                if attempt >= self.max_attempts:
                    report.stopped = (f"the remote is not answering ({exc.message}); the queue "
                                      "is kept, run sync again later")
                    return None
                delay = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
                delay *= 0.5 + self.rng.random() / 2
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, self.backoff_cap * 6))
                self.sleep(delay)

    def _reject(self, op: Op, exc: RemoteError) -> tuple[str, str]:
        message = f"{op.label}: {exc.message}"
        self.ledger.set_aside(op.uid, message)
        return ("set_aside", message)

    # -- pull ---------------------------------------------------------------------------------

    def _pull(self, report: SyncReport) -> None:
        from .pull import Puller

        puller = Puller(self)
        attempt = 0
        while True:
            try:
                puller.run()
                break
            except RemoteAuthError:
                raise
            except RemoteError as exc:
                if not exc.retryable:
                    raise
                attempt += 1
                if attempt >= self.max_attempts:
                    report.stopped = f"pull stopped: {exc.message}"
                    break
                delay = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                self.sleep(delay * (0.5 + self.rng.random() / 2))
        report.pulled += puller.pulled
        report.conflicts += puller.conflicts

    # -- dry run ------------------------------------------------------------------------------

    def _dry_run(self, report: SyncReport) -> SyncReport:
        """The plan from local data only: no request is sent, nothing is written."""
        api = self.remote.api
        plan = build_plan(self.store)
        with self.store.db.read() as conn:
            for op in plan:
                if not op.supported:
                    op.notes.append("not synced by this version")
                    report.plan.append(op.as_dict())
                    continue
                link = self.ledger.link(conn, op.uid)
                item = self.ledger.item(conn, op.uid)
                local = self.ledger.load(conn, op.table, op.uid)
                if link is None:
                    path = {"contexts": "/registered_models" if op.kind == "registered-model"
                            else "/model_versions"}.get(op.table,
                                                        "/model_versions/{version}/artifacts")
                    if item is not None and item["create_attempted_at"] is not None:
                        op.requests.append(f"GET {api} lookup by name (create was attempted "
                                           "before)")
                        op.notes.append("may adopt an equal remote entity")
                    op.requests.append(f"POST {api}{path}")
                else:
                    what = "artifacts" if op.table == "artifacts" else (
                        "registered_models" if op.kind == "registered-model"
                        else "model_versions")
                    if link.etag and self.use_etags:
                        op.requests.append(f"PATCH {api}/{what}/{link.remote_id} (If-Match)")
                    else:
                        op.requests.append(f"GET {api}/{what}/{link.remote_id}")
                        op.requests.append(f"PATCH {api}/{what}/{link.remote_id}")
                for conflict in self.ledger.open_conflicts(conn, op.uid):
                    op.notes.append(f"open conflict #{conflict['id']} ({conflict['kind']})")
                if local is None:
                    op.notes.append("entity no longer exists locally")
                report.plan.append(op.as_dict())
        report.remaining = len(plan)
        report.open_conflicts = self._open_ids()
        return report
