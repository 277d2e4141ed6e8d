"""The sync engine: push the outbox, then pull, under one lock, with bounded retries.

A run reads top-down (:meth:`SyncEngine.run`): check the remote's identity, plan and push
(:class:`.push.Pusher`), pull (:class:`.pull.Puller`), report. Push and pull read the run's
:class:`.run.RunContext`, built once per run, not the engine."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, cast

from localhub.credentials import redact_url
from localhub.database_identity import refuse_same_database
from localhub.errors import (
    RemoteAuthError,
    RemoteCertificateError,
    RemoteError,
    RemoteIdentityError,
    RemoteNotFoundError,
    RemoteProtocolError,
    RemoteRejectedError,
)
from localhub.rest_client import RemoteRegistry
from localhub.types import RegisteredModel

from .backoff import Backoff
from .contract import LocalStore, RemoteClient
from .dry_run import describe_plan, entity_class
from .identity import IDENTITY_KEY, NEWEST_KEY
from .ifmatch import IfMatch
from .ledger import Ledger
from .lock import SyncLock
from .outcome import Outcome, Rejected
from .plan import RANK, Op, count_plan, iter_plan, plan_bound, queued_entities
from .pull import Puller
from .push import Pusher
from .run import Policy, Progress, RunContext
from .upstream import check_upstream, pin_upstream
from .uri_rewrite import UriRewriter

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is 3.11+; the package supports 3.10

    from localhub.store import SQLiteStore

__all__ = ["Policy", "Progress", "SyncEngine", "SyncReport", "entity_class"]


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
    #: Messages of operations set aside in this run (refused, or failing while the remote
    #: answered other requests).
    errors: list[str] = field(default_factory=list)
    #: Messages of pulled entities the local store refused in this run (held: retried by
    #: every pull, listed by ``status``).
    held: list[str] = field(default_factory=list)
    #: Dry run: the operations it would send, with their requests.
    plan: list[dict[str, Any]] = field(default_factory=list)
    #: Open conflicts visible at the end of the run (ids).
    open_conflicts: list[int] = field(default_factory=list)
    #: Artifact URI rewrites sent in this run (a dry run: in each plan item instead):
    #: ``{"entity", "from", "to", "rule"}``.
    rewrites: list[dict[str, Any]] = field(default_factory=list)
    #: The model names the run was limited to (None: all).
    models: list[str] | None = None
    #: True when the remote's pinned identity was checked in this run.
    identity_checked: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, stable keys (listed in docs/sync.md)."""
        return asdict(self)

    as_dict = to_dict

    def to_json(self, **options: Any) -> str:
        return json.dumps(self.to_dict(), **options)


def _stopped(report: SyncReport) -> bool:
    """Whether a call stopped the run (a function: the type checker keeps no narrowing)."""
    return report.stopped is not None


class SyncEngine:
    """Sync ``store`` with ``remote`` (a :class:`localhub.rest_client.RemoteRegistry`)."""

    def __init__(self, store: LocalStore, remote: RemoteClient | str, *,
                 on_conflict: Policy = "manual",
                 models: Sequence[str] | None = None,
                 uri_map: Sequence[tuple[str, str]] | None = None,
                 progress: Progress | None = None,
                 token: str | None = None, verify: bool | str = True,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 5,
                 backoff: float = 0.2, backoff_cap: float = 10.0, lock_wait: float = 2.0,
                 use_etags: bool = True, rng: random.Random | None = None,
                 workers: int = 4) -> None:
        if on_conflict not in ("manual", "ours", "theirs"):
            raise ValueError(f"on_conflict must be manual, ours or theirs, got {on_conflict!r}")
        if isinstance(models, str):
            raise TypeError("models must be a sequence of model names, not one string")
        self._owns_remote = isinstance(remote, str)
        if isinstance(remote, str):
            remote = RemoteRegistry(remote, token=token, verify=verify)
        self.store = store
        self.remote: RemoteClient = remote
        self.models: frozenset[str] | None = None if models is None else frozenset(models)
        self.uri_rewriter = UriRewriter(uri_map)
        self.progress = progress
        self.on_conflict: Policy = on_conflict
        self.clock = clock
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.lock_wait = lock_wait
        self.use_etags = use_etags
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        #: Creates/updates of one rank sent concurrently by a push (1: one at a time).
        self.workers = workers
        self.rng = rng or random.Random()
        #: The one retry policy of this engine's loops (identity check, push ops, pull).
        self.retry = Backoff(base=backoff, cap=backoff_cap, attempts=max_attempts, rng=self.rng)
        self.ledger = Ledger(store, remote.base_url)
        #: Whether the remote honours If-Match (the one-request update needs it proven).
        self.if_match = IfMatch(store, self.ledger)
        # Before any request: a server of this very database refuses it, and so do we.
        refuse_same_database(cast("SQLiteStore", store), remote)  # it reads meta only

    # -- entry --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the REST session when the engine built it from a URL."""
        if self._owns_remote:
            self.remote.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def context(self) -> RunContext:
        """What push and pull read of this engine for one run."""
        return RunContext(store=self.store, ledger=self.ledger, remote=self.remote,
                          models=self.models, on_conflict=self.on_conflict,
                          use_etags=self.use_etags, if_match=self.if_match,
                          uri_rewriter=self.uri_rewriter, progress=self.progress,
                          workers=self.workers)

    def run(self, *, push: bool = True, pull: bool = True, dry_run: bool = False) -> SyncReport:
        report = SyncReport(remote=redact_url(self.remote.base_url), dry_run=dry_run,
                            models=None if self.models is None else sorted(self.models))
        check_upstream(self.store, self.ledger.remote)
        sent_before = self.remote.requests_sent
        ctx = self.context()
        if dry_run:
            return describe_plan(ctx, report)
        with SyncLock(self.store.path, self.remote.base_url, wait=self.lock_wait):
            self._check_identity(report)
            if report.stopped is None and push:
                self._push(ctx, report)
            if pull and report.stopped is None:
                self._pull(ctx, report)
            with self.store.db.write() as conn:
                now = str(self.store.clock())
                if push and report.stopped is None:
                    self.ledger.set_state(conn, "last_push", now)
                if pull and report.stopped is None:
                    self.ledger.set_state(conn, "last_pull", now)
                    if self.models is None:  # the device mirrors the whole remote from now on
                        self.ledger.set_state(conn, "last_full_pull", now)
            if report.stopped is None:
                pin_upstream(self.store, self.ledger.remote)
        report.remaining = queued_entities(self.store)
        report.requests = self.remote.requests_sent - sent_before
        report.open_conflicts = self._open_ids()
        return report

    # -- identity -----------------------------------------------------------------------------

    def _probe_model(self, model_id: str, report: SyncReport) -> dict[str, str] | None:
        """GET one registered model with retries: its identity, or None when absent or when
        the remote stopped answering (then ``report.stopped`` says so)."""
        attempt = 0
        while True:
            try:
                found = self.remote.fetch(RegisteredModel, model_id).entity
                break
            except RemoteNotFoundError:
                return None
            except (RemoteAuthError, RemoteCertificateError, RemoteProtocolError):
                raise
            except RemoteError as exc:
                if not exc.retryable:
                    raise
                attempt += 1
                if self.retry.exhausted(attempt):
                    report.stopped = (f"the remote is not answering ({exc.message}); the queue "
                                      "is kept, run sync again later")
                    return None
                self.sleep(self.retry.delay(attempt, exc.retry_after))
        return {"model_id": str(found.id), "create_time": str(found.create_time_since_epoch),
                "name": found.name}

    def _check_identity(self, report: SyncReport) -> None:
        """One GET: the newest linked model (or the anchor); a mismatch raises
        RemoteIdentityError (a second GET, of the anchor, tells a restore from a new server)."""
        text = self.ledger.get_state(IDENTITY_KEY)
        if text is None:
            return
        pinned = json.loads(text)
        url = redact_url(self.ledger.remote)
        newest_text = self.ledger.get_state(NEWEST_KEY)
        newest = None if newest_text is None else json.loads(newest_text)
        if newest is not None and newest["model_id"] != pinned["model_id"]:
            got = self._probe_model(newest["model_id"], report)
            if _stopped(report):
                return
            if got is not None and got["create_time"] == newest["create_time"]:
                report.identity_checked = True
                return
            anchor = self._probe_model(pinned["model_id"], report)
            if _stopped(report):
                return
            report.identity_checked = True
            if anchor is not None and anchor["create_time"] == pinned["create_time"]:
                what = ("has no registered model " + newest["model_id"] if got is None else
                        f"has registered model {newest['model_id']} created at "
                        f"{got['create_time']}, not at {newest['create_time']}")
                raise RemoteIdentityError(
                    f"the remote at {url} went back in time (restored from an older backup?): "
                    f"it {what} (model {newest.get('name')!r}, synced before), so entities "
                    "synced since are gone there and their ids may now name other people's "
                    "entities, and nothing was sent; to send the local content again (adopting "
                    f"what the remote still has), run `localhub remote reset {url} --requeue` "
                    "(Python: localhub.sync.reset_remote(..., requeue=True)) and sync again",
                    url=url, expected=newest, found=got)
            seen = anchor
        else:
            seen = self._probe_model(pinned["model_id"], report)
            if _stopped(report):
                return
            report.identity_checked = True
        if seen is None or seen["create_time"] != pinned["create_time"]:
            what = ("has no registered model " + str(pinned["model_id"]) if seen is None else
                    f"has registered model {seen['model_id']} created at "
                    f"{seen['create_time']}, not at {pinned['create_time']}")
            raise RemoteIdentityError(
                f"the remote at {url} is not the registry this database synced with: it "
                f"{what} (first synced model {pinned.get('name')!r}): it was re-created or the "
                "URL points at another server, and nothing was sent; if this is intended, "
                f"forget the old remote with `localhub remote reset {url}` (with --requeue to "
                "send the whole local content to it; Python: localhub.sync.reset_remote) and "
                "sync again",
                url=url, expected=pinned, found=seen)

    def _open_ids(self) -> list[int]:
        return self.ledger.open_conflict_ids()

    # -- push ---------------------------------------------------------------------------------

    def _push(self, ctx: RunContext, report: SyncReport) -> None:
        self.ledger.clear_set_aside()
        pusher = Pusher(ctx)
        bound = plan_bound(self.store)
        total = 0
        if self.progress is not None:
            total = count_plan(self.store, self.models, bound=bound, supported_only=True)
        ctx.tick("push", 0, total)
        ops = iter_plan(self.store, self.models, bound=bound, supported_only=True)
        done = 0

        def run(op: Op) -> Any:
            return self._with_retries(op, lambda: pusher.push(op), report, probe=pusher.probe)

        def account(outcome: Outcome | Rejected) -> None:
            nonlocal done
            if isinstance(outcome, Rejected):
                report.set_aside += 1
                report.errors.append(outcome.message)
            elif outcome is Outcome.CREATED:
                report.created += 1
            elif outcome is Outcome.ADOPTED:
                report.adopted += 1
            elif outcome is Outcome.UPDATED:
                report.updated += 1
            elif outcome is Outcome.CONFLICT:
                report.conflicts += 1
            elif outcome is Outcome.SET_ASIDE:
                report.set_aside += 1
            done += 1
            ctx.tick("push", done, max(total, done))

        try:
            for window in pusher.windows(ops):
                waves: list[list[Op]] = []
                for op in window:
                    if waves and RANK[waves[-1][0].kind] == RANK[op.kind]:
                        waves[-1].append(op)
                    else:
                        waves.append([op])
                for wave in waves:
                    if not pusher.run_wave(wave, run, account):
                        return  # the remote stopped answering: report.stopped says why
                pusher.settle()
        finally:
            # Acknowledge what the remote confirmed, even when the run stops or fails.
            pusher.close()
            pusher.settle()
        report.rewrites.extend(pusher.rewrites)

    def _with_retries(self, op: Op, call: Callable[[], Outcome | Rejected], report: SyncReport,
                      probe: Callable[[], bool] | None = None) -> Outcome | Rejected | None:
        """Run one op; retry retryable errors with backoff; None = the run must stop.

        An op whose every try got a 5xx answer while the remote still answers a plain read
        (``probe``) is that op's problem: it is set aside with the server's message and the
        run goes on. No answer at all (connection-level), throttling (408/429) or a failing
        probe stop the run: the remote as a whole is not usable now."""
        attempt = 0
        while True:
            try:
                return call()
            except (RemoteAuthError, RemoteCertificateError, RemoteProtocolError):
                raise  # the remote as a whole is unusable: stop, set nothing aside
            except RemoteRejectedError as exc:
                return self._reject(op, exc)
            except RemoteError as exc:
                if not exc.retryable:
                    return self._reject(op, exc)
                attempt += 1
                if self.retry.exhausted(attempt):
                    if exc.status >= 500 and probe is not None and probe():
                        return self._reject(op, exc)
                    report.stopped = (f"the remote is not answering ({exc.message}); the queue "
                                      "is kept, run sync again later")
                    return None
                self.sleep(self.retry.delay(attempt, exc.retry_after))

    def _reject(self, op: Op, exc: RemoteError) -> Rejected:
        message = f"{op.label}: {exc.message}"
        self.ledger.set_aside(op.uid, message, refused=isinstance(exc, RemoteRejectedError))
        return Rejected(message)

    # -- pull ---------------------------------------------------------------------------------

    def _pull(self, ctx: RunContext, report: SyncReport) -> None:
        puller = Puller(ctx)
        puller.meter.report()  # the pull starts: 0 entities
        attempt = 0
        progress = puller.progress()
        while True:
            try:
                puller.retry_held()
                puller.run()
                break
            except RemoteAuthError:
                raise
            except RemoteError as exc:
                if not exc.retryable:
                    raise
                if puller.progress() != progress:  # got further: a new fault, a new budget
                    progress, attempt = puller.progress(), 0
                attempt += 1
                if self.retry.exhausted(attempt):
                    report.stopped = f"pull stopped: {exc.message}"
                    break
                self.sleep(self.retry.delay(attempt, exc.retry_after))
        report.pulled += puller.pulled
        report.conflicts += puller.conflicts
        report.held.extend(puller.refused)
