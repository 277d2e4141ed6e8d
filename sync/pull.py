"""Pull: mirror remote changes into the local store, incrementally.

Per kind (models, versions, artifacts): ``filterQuery=lastUpdateTimeSinceEpoch >= W - L``
ordered by LAST_UPDATE_TIME ascending, in large pages, where ``W`` is the newest update time
seen and ``L`` the look-back (:data:`LOOKBACK_MS`): a server whose clock stepped back by up to
``L`` stamps later writes below ``W``, and the window finds them. Listed entities whose update
time and content hash equal their link's base are skipped without a write (this also settles
the server's millisecond ties). Pulled rows never enter the outbox; an entity with pending
local edits goes through the three-way merge. New artifacts are placed by listing versions'
artifacts concurrently (:mod:`.placing`), the versions new or changed in the run first.

A remote entity that cannot be placed yet is *held*: its natural key is taken by a local
entity not linked yet that has queued changes or an open conflict (the push adopts it, or the
conflict's resolution links it), or it sits below a held parent. The watermark of its kind
stops at the oldest held entity, so later pulls see it again until it is placed; without
that, the link made afterwards would never bring the entity's remote changes or children.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import TYPE_CHECKING, Any

from localhub import outbox
from localhub.errors import LocalHubError, RemoteNotFoundError
from localhub.types import (
    Artifact,
    BaseResource,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)

from .field_conflicts import record_field_conflicts
from .ledger import Ledger
from .merge import CP, merge, override
from .placing import READS_PER_WORKER, VersionLister
from .run import PULL_KINDS, PullMeter
from .snapshot import apply_snapshot, content_hash, snapshot

if TYPE_CHECKING:
    from .run import RunContext

__all__ = ["APPLY_BATCH", "LOOKBACK_MS", "PAGE_SIZE", "Puller"]

#: Pulled entities applied per local transaction.
APPLY_BATCH = 100
#: Entities per listed page: few round trips for a large mirror or look-back window.
PAGE_SIZE = 1000
#: How far before a kind's watermark each pull re-reads (ms): the largest step back of the
#: server's clock that loses no change (docs/sync.md, "Clock-safe pull").
LOOKBACK_MS = 10 * 60 * 1000
#: The "parent uid" of an artifact pulled as one of no version.
STANDALONE = ""
#: What the store raises for a pulled entity it cannot take (a UNIQUE name or external id
#: taken by another local entity, a value its checks refuse).
_REFUSALS = (sqlite3.Error, LocalHubError, ValueError, TypeError)

_KINDS: list[tuple[str, type[BaseResource], str]] = [
    ("registered-models", RegisteredModel, "contexts"),
    ("model-versions", ModelVersion, "contexts"),
    ("artifacts", Artifact, "artifacts"),
    ("serving-environments", ServingEnvironment, "contexts"),
]
#: A kind's key -> its name in the progress counts (:data:`.run.PULL_KINDS`).
_SHOWN = {key: shown for (key, _cls, _table), shown in zip(_KINDS, PULL_KINDS, strict=True)}


def _unchanged(entity: BaseResource, base_update_time: int, base_hash: str | None) -> bool:
    """Whether ``entity`` is as its link's base records it (same update time and content)."""
    return int(entity.last_update_time_since_epoch or 0) == base_update_time \
        and content_hash(snapshot(entity)) == base_hash


class Puller:
    """Pulls the remote's changes of one run; :meth:`run` may be called again after a fault
    and goes on where it stopped."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.remote = ctx.remote
        self.ledger: Ledger = ctx.ledger
        self.store = ctx.store
        #: Entities handled per kind: the run's progress.
        self.meter = PullMeter(ctx.progress)
        self.pulled = 0
        self.conflicts = 0
        self.skipped = 0
        #: Entities listed again (the look-back window) and found unchanged.
        self.unchanged = 0
        #: Remote ids of the versions new or changed in this run: where new artifacts are.
        self._changed_versions: set[str] = set()
        #: Held entities of the kind being pulled: id -> lastUpdateTimeSinceEpoch.
        self.held: dict[str, int] = {}
        #: Remote ids of the models and versions held by this run.
        self.held_parents: set[tuple[str, str]] = set()
        #: A retry after a fault (the engine calls run() again) goes on where it failed: the
        #: kinds finished in this run, the listing of the kind under way, and per version
        #: (remote id) the artifact ids already known not to be in it.
        self._finished: set[str] = set()
        self._listing: dict[str, list[BaseResource]] = {}
        self._absent: dict[str, set[str]] = {}
        #: Messages of the entities the store refused in this run (held, see _refused).
        self.refused: list[str] = []
        #: (table, remote id) of the held entities retried by this run.
        self._was_held: set[tuple[str, str]] = set()
        #: The progress name of the kind being pulled ("" before the first kind).
        self._kind = ""

    def run(self, page_size: int = PAGE_SIZE) -> None:
        models = self.ctx.models
        # A pull limited to some models keeps its own watermarks, so that a later full pull
        # still sees the entities this one skipped.
        prefix = "" if models is None else "scoped:" + hashlib.sha256(
            "\0".join(sorted(models)).encode()).hexdigest()[:16] + ":"
        for key, cls, table in _KINDS:
            if key in self._finished:
                continue
            watermark = int(self.ledger.get_state(f"{prefix}watermark:{key}") or 0)
            # The look-back: a server clock stepped back by up to LOOKBACK_MS stamps its later
            # writes below the watermark; re-reading the window finds them.
            since = max(0, watermark - LOOKBACK_MS)
            query = f"lastUpdateTimeSinceEpoch >= {since}" if watermark else None
            if key not in self._listing:
                self._absent = {}
                self._listing[key] = self._list(cls, query, page_size)
            items = self._listing[key]
            self._kind = _SHOWN[key]
            self.meter.listed(self._kind, len(items))
            fresh = self._changed(items, table)
            if cls is ModelVersion:
                self._changed_versions.update(str(e.id) for e in fresh)
            if models is not None:
                fresh = self._scoped(cls, fresh)
            self.held = {}
            if cls is Artifact:
                self._artifacts(fresh)
            else:
                self._apply_all([(entity, None) for entity in fresh], table)
            top = max([watermark, *(int(e.last_update_time_since_epoch or 0) for e in items)])
            if self.held:  # stop at the oldest held entity: the next pull sees it again
                top = min(self.held.values())
            if top != watermark:
                with self.store.db.write() as conn:
                    self.ledger.set_state(conn, f"{prefix}watermark:{key}", str(top))
            self._finished.add(key)
            self._listing.pop(key, None)
            self.meter.finish(self._kind)

    def _list(self, cls: type[BaseResource], query: str | None, page_size: int
              ) -> list[BaseResource]:
        return list(self.remote.list_all(cls, filter_query=query, order_by="LAST_UPDATE_TIME",
                                         sort_order="ASC", page_size=page_size))

    def _changed(self, items: list[BaseResource], table: str) -> list[BaseResource]:
        """The entities not linked yet or changed since their link's base (update time or
        content): the look-back window re-reads many unchanged ones, which cost no write."""
        out = []
        with self.store.db.read() as conn:
            for entity in items:
                link = self.ledger.link_by_remote_id(conn, table, str(entity.id))
                if link is None or not _unchanged(entity, link.base_update_time,
                                                  link.base_hash):
                    out.append(entity)
        self.unchanged += len(items) - len(out)
        self.meter.add(self._kind, len(items) - len(out))
        return out

    def progress(self) -> tuple[int, ...]:
        """Changes whenever the pull got further: kinds finished, listings fetched, versions'
        artifacts listed, entities applied or skipped (the engine's retry budget restarts)."""
        return (len(self._finished), len(self._listing), len(self._absent), self.pulled,
                self.skipped)

    # -- scope (models=...) -------------------------------------------------------------------

    def _scoped(self, cls: type[BaseResource], items: list[BaseResource]) -> list[BaseResource]:
        """Only entities of the chosen models."""
        models = self.ctx.models or frozenset()
        if cls is ServingEnvironment:
            return []  # not part of any model: synced by unlimited runs only
        if cls is RegisteredModel:
            return [e for e in items if getattr(e, "name", None) in models]
        with self.store.db.read() as conn:
            model_ids = self.ledger.linked_model_ids(conn, models)
            if cls is ModelVersion:  # (versions of a held model are held with it)
                return [e for e in items if str(getattr(e, "registered_model_id", ""))
                        in model_ids or ("model", str(getattr(e, "registered_model_id", "")))
                        in self.held_parents]
            out = []
            for e in items:  # artifacts: known ones by their local model; new ones are
                link = self.ledger.link_by_remote_id(conn, "artifacts", str(e.id))
                if link is None or self.store.model_of_artifact(conn, link.uid) in models:
                    out.append(e)  # placed by _artifacts, which lists in-scope versions only
            return out

    # -- artifacts ----------------------------------------------------------------------------

    def _artifacts(self, items: list[BaseResource]) -> None:
        unknown: dict[str, BaseResource] = {}
        #: Linked artifacts that are of no version locally: the remote may have attached
        #: them to a version since (an upsert by id), so they are looked for like new ones.
        floating: set[str] = set()
        #: Of those, the ones touched without a change of content: the mark such an attach
        #: leaves. An edited one is looked for in new or changed versions only, so that a
        #: top-level artifact's edits never cost a walk over every version.
        touched: set[str] = set()
        with self.store.db.read() as conn:
            for entity in items:
                link = self.ledger.link_by_remote_id(conn, "artifacts", str(entity.id))
                if link is None:
                    unknown[str(entity.id)] = entity
                elif self.store.is_floating(conn, link.uid):
                    unknown[str(entity.id)] = entity
                    floating.add(str(entity.id))
                    if content_hash(snapshot(entity)) == link.base_hash:
                        touched.add(str(entity.id))
        self._apply_all([(e, None) for e in items if str(e.id) not in unknown], "artifacts")
        if not unknown:
            return
        # /artifacts does not say which version an artifact belongs to: list the versions'
        # artifacts until every one is placed. The versions new or changed in this run first
        # (where new artifacts are); then, for artifacts seen for the first time and touched
        # ones, the others (a parent's update time does not move with its children): versions
        # without a linked artifact first, so a pull cut short by faults goes on with the
        # versions not placed yet, then the most recently changed.
        models = self.ctx.models
        walk = (set(unknown) - floating) | touched
        versions: list[tuple[str, str]] = []
        if walk or self._changed_versions:  # else nothing to list: skip the read
            with self.store.db.read() as conn:
                versions = self.ledger.linked_versions(conn, models)
        lister = VersionLister(self.remote, self.ctx.workers * READS_PER_WORKER)
        try:
            self._place(unknown, set(unknown),
                        [v for v in versions if v[0] in self._changed_versions], lister)
            self._place(unknown, walk,
                        [v for v in versions if v[0] not in self._changed_versions], lister)
        finally:
            lister.close()
        # Still of no version: their content merges as usual.
        self._apply_all([(unknown.pop(i), None) for i in sorted(floating & set(unknown))],
                        "artifacts")
        if any(kind == "version" for kind, _id in self.held_parents):
            # Top-level artifacts, or artifacts of a held version: keep them until it is placed.
            self.skipped += len(unknown)
            for entity in unknown.values():
                self._hold(entity)
        elif models is None:
            # In no linked version: an artifact created without a version (POST
            # /model_artifacts); mirrored as one, to be attached when the remote attaches it.
            self._apply_all([(e, STANDALONE) for e in unknown.values()], "artifacts")
        else:
            self.skipped += len(unknown)  # belongs to no model: unlimited pulls only

    def _place(self, unknown: dict[str, BaseResource], targets: set[str],
               versions: list[tuple[str, str]], lister: VersionLister) -> None:
        """List ``versions``' artifacts until none of ``targets`` is left in ``unknown``;
        each artifact of ``unknown`` found is applied in its version and leaves ``unknown``."""
        looking = targets & unknown.keys()
        if not looking:
            return
        # Listed before the fault that restarted this run's pull: skipped.
        todo = [v for v in versions if not looking <= self._absent.get(v[0], set())]
        placed: list[tuple[BaseResource, str | None]] = []
        try:
            for remote_id, uid, artifacts in lister.listings(
                    todo, lambda: bool(looking & unknown.keys())):
                before = len(unknown)
                for artifact in artifacts:
                    if str(artifact.id) in unknown:
                        unknown.pop(str(artifact.id))
                        placed.append((artifact, uid))
                self._absent.setdefault(remote_id, set()).update(unknown)
                self.meter.add(self._kind, before - len(unknown))  # applied below, in batches
                if len(placed) >= APPLY_BATCH:
                    self._apply_all(placed, "artifacts", count=False)
                    placed = []
        finally:  # also when a listing fails: keep what was placed
            self._apply_all(placed, "artifacts", count=False)

    # -- one entity ---------------------------------------------------------------------------

    def _apply_all(self, entities: list[tuple[BaseResource, str | None]], table: str, *,
                   count: bool = True) -> None:
        """:meth:`_apply` each (entity, parent uid), one transaction (one durable commit) per
        :data:`APPLY_BATCH` entities; each entity is still all-or-nothing (a savepoint). The
        watermark moves only after its kind is applied, so a crash re-applies at most this.
        Each batch counts in the progress of the kind being pulled unless not ``count``
        (placed artifacts count when found, held entities retried are outside the walk)."""
        for start in range(0, len(entities), APPLY_BATCH):
            batch = entities[start:start + APPLY_BATCH]
            with self.store.db.batch():
                for entity, parent_uid in batch:
                    try:
                        self._apply(entity, table, parent_uid)
                    except _REFUSALS as exc:
                        self._refused(entity, table, parent_uid, exc)
                    else:
                        if (table, str(entity.id)) in self._was_held:
                            with self.store.db.write() as conn:
                                self.ledger.release_pulled(conn, table, str(entity.id))
            if count:
                self.meter.add(self._kind, len(batch))

    def _refused(self, entity: BaseResource, table: str, parent_uid: str | None,
                 exc: Exception) -> None:
        """The store refused a pulled entity (its savepoint rolled back): hold it with the
        reason, and its children with it; the rest of the pull goes on and the next pull
        fetches it again by id (:meth:`retry_held`)."""
        name = getattr(entity, "name", None)
        message = (f"remote {entity.kind} {name!r} (id {entity.id}) could not be applied "
                   f"locally: {exc}; fix the local entity in the way (rename it or change its "
                   "external id) and sync again")
        with self.store.db.write() as conn:
            self.ledger.hold_pulled(conn, table, str(entity.id), entity.kind, parent_uid,
                                    message)
        self.refused.append(message)
        if isinstance(entity, (RegisteredModel, ModelVersion)):
            kind = "model" if isinstance(entity, RegisteredModel) else "version"
            self.held_parents.add((kind, str(entity.id)))

    def retry_held(self) -> None:
        """Fetch each entity an earlier pull held (the store refused it) and apply it again;
        one gone from the remote is forgotten."""
        for held in self.ledger.held_pulled():
            table, remote_id = str(held["table"]), str(held["remote_id"])
            if (table, remote_id) in self._was_held:
                continue  # retried already by this run (the engine may call again)
            cls = Artifact if table == "artifacts" else next(
                (c for _k, c, _t in _KINDS if c.kind == held["kind"]), None)
            try:
                if cls is None:
                    raise RemoteNotFoundError(f"unknown kind {held['kind']}")
                entity = self.remote.fetch(cls, remote_id).entity
            except RemoteNotFoundError:
                with self.store.db.write() as conn:
                    self.ledger.release_pulled(conn, table, remote_id)
                continue
            self._was_held.add((table, remote_id))
            self._apply_all([(entity, held["parent"])], table, count=False)

    def _apply(self, entity: BaseResource, table: str, parent_uid: str | None) -> None:
        theirs = snapshot(entity)
        with self.store.db.write() as conn:
            link = self.ledger.link_by_remote_id(conn, table, str(entity.id))
            if link is None:
                self._insert(conn, entity, table, parent_uid)
                return
            if parent_uid and table == "artifacts":
                self.store.attach_pulled(conn, link.uid, parent_uid)
            if int(entity.last_update_time_since_epoch or 0) == link.base_update_time \
                    and content_hash(theirs) == link.base_hash:
                return
            local = self.store.load(conn, table, link.uid)
            if local is None:
                return
            pending = outbox.changes_of(conn, link.uid)[1]
            frozen = self.ledger.frozen_fields(conn, link.uid)
            mine = snapshot(self.ctx.outgoing(local.entity))
            eff = dict(link.base)
            for name in mine:
                if name in pending or name in frozen:
                    eff[name] = mine[name]
            if CP in pending or any(f.startswith(CP + ".") for f in frozen):
                eff[CP] = mine.get(CP) or {}
            result = merge(link.base, eff, theirs)
            policy = self.ctx.on_conflict
            to_local = result.to_local
            new_conflicts = {n: c for n, c in result.conflicts.items() if n not in frozen}
            if new_conflicts and policy == "theirs":
                to_local = override(to_local, new_conflicts, side=2)
            to_local = self.ctx.localize(to_local, local.entity)
            updated = apply_snapshot(local.entity, to_local)
            if updated is not local.entity:
                self.store.write_entity(conn, local, updated)
            self.ledger.set_link(conn, link.uid, table, entity, None)
            if new_conflicts:
                record_field_conflicts(
                    self.ledger, conn, local=local, conflicts=new_conflicts,
                    remote_id=str(entity.id), message="changed on both sides (pull)",
                    policy=policy)
                self.conflicts += 1
            self.pulled += 1

    def _hold(self, entity: BaseResource) -> None:
        self.held[str(entity.id)] = int(entity.last_update_time_since_epoch or 0)
        if isinstance(entity, (RegisteredModel, ModelVersion)):
            kind = "model" if isinstance(entity, RegisteredModel) else "version"
            self.held_parents.add((kind, str(entity.id)))

    def _insert(self, conn: Any, entity: BaseResource, table: str, parent_uid: str | None
                ) -> None:
        parent_row: int | None = None
        if parent_uid == STANDALONE:
            uid, _row_id = self.store.insert_pulled(conn, entity, None)
            self.ledger.set_link(conn, uid, table, entity, None)
            self.pulled += 1
            return
        if isinstance(entity, ModelVersion):
            plink = self.ledger.link_by_remote_id(conn, "contexts",
                                                  str(entity.registered_model_id))
            if plink is None or self.ledger.has_open_conflict_of(conn, plink.uid,
                                                                 "remote-mismatch"):
                self.skipped += 1
                if ("model", str(entity.registered_model_id)) in self.held_parents:
                    self._hold(entity)
                return
            parent_uid = plink.uid
        if parent_uid is not None:
            parent_row = self.store.context_row_id(conn, parent_uid)
            if parent_row is None:
                self.skipped += 1
                return
        elif isinstance(entity, Artifact):
            self.skipped += 1  # not placed in a version (see _artifacts)
            return
        # A local entity with the same natural key: a pending create (push adopts it or
        # records a conflict), or a leftover; never a second row.
        clash = self.store.natural_key_uid(conn, table, entity.kind, parent_row or 0,
                                           getattr(entity, "name", None))
        if clash is not None:
            self.skipped += 1
            # A pending create (the push adopts it or lists a conflict) or an open conflict:
            # the link will come, and with it this entity. A bare leftover is never linked.
            if outbox.has_changes(conn, clash) or self.ledger.has_open_conflict(conn, clash):
                self._hold(entity)
            return
        uid, _row_id = self.store.insert_pulled(conn, entity, parent_row)
        self.ledger.set_link(conn, uid, table, entity, None)
        self.pulled += 1
