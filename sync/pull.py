"""Pull: mirror remote changes into the local store, incrementally.

Per kind (models, versions, artifacts): ``filterQuery=lastUpdateTimeSinceEpoch >= W`` ordered by
LAST_UPDATE_TIME ascending, paged; rows at exactly ``W`` already applied are skipped by id (the
server has millisecond ties). Pulled rows never enter the outbox; an entity with pending local
edits goes through the three-way merge.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from localhub.types import (
    Artifact,
    BaseResource,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)

from .merge import CP, merge
from .snapshot import apply_snapshot, content_hash, snapshot
from .state import Ledger

if TYPE_CHECKING:
    from .engine import SyncEngine

__all__ = ["Puller"]

_KINDS: list[tuple[str, type[BaseResource], str]] = [
    ("registered-models", RegisteredModel, "contexts"),
    ("model-versions", ModelVersion, "contexts"),
    ("artifacts", Artifact, "artifacts"),
    ("serving-environments", ServingEnvironment, "contexts"),
]


class Puller:
    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine
        self.remote = engine.remote
        self.ledger: Ledger = engine.ledger
        self.store = engine.store
        self.pulled = 0
        self.conflicts = 0
        self.skipped = 0

    def run(self, page_size: int = 100) -> None:
        models = self.engine.models
        # A pull limited to some models keeps its own watermarks, so that a later full pull
        # still sees the entities this one skipped.
        prefix = "" if models is None else "scoped:" + hashlib.sha256(
            "\0".join(sorted(models)).encode()).hexdigest()[:16] + ":"
        for done, (key, cls, table) in enumerate(_KINDS, 1):
            watermark = int(self.ledger.get_state(f"{prefix}watermark:{key}") or 0)
            seen = set(json.loads(self.ledger.get_state(f"{prefix}seen:{key}") or "[]"))
            query = f"lastUpdateTimeSinceEpoch >= {watermark}" if watermark else None
            items = list(self.remote.list_all(cls, filter_query=query,
                                              order_by="LAST_UPDATE_TIME", sort_order="ASC",
                                              page_size=page_size))
            fresh = [e for e in items if not (int(e.last_update_time_since_epoch or 0)
                                              == watermark and e.id in seen)]
            if models is not None:
                fresh = self._scoped(cls, fresh)
            if cls is Artifact:
                self._artifacts(fresh)
            else:
                for entity in fresh:
                    self._apply(entity, table, None)
            if items:
                top = max(int(e.last_update_time_since_epoch or 0) for e in items)
                at_top = {str(e.id) for e in items
                          if int(e.last_update_time_since_epoch or 0) == top}
                if top == watermark:
                    at_top |= seen
                with self.store.db.write() as conn:
                    self.ledger.set_state(conn, f"{prefix}watermark:{key}", str(top))
                    self.ledger.set_state(conn, f"{prefix}seen:{key}",
                                          json.dumps(sorted(at_top)))
            self.engine._tick("pull", done, len(_KINDS))

    # -- scope (models=...) -------------------------------------------------------------------

    def _scoped(self, cls: type[BaseResource], items: list[BaseResource]) -> list[BaseResource]:
        """Only entities of the chosen models."""
        models = self.engine.models or frozenset()
        if cls is ServingEnvironment:
            return []  # not part of any model: synced by unlimited runs only
        if cls is RegisteredModel:
            return [e for e in items if getattr(e, "name", None) in models]
        with self.store.db.read() as conn:
            model_ids = {r[0] for r in conn.execute(
                "SELECT l.remote_id, c.name FROM sync_links l JOIN contexts c ON c.uid = "
                "l.entity_uid WHERE l.remote = ? AND c.kind = ?",
                (self.ledger.remote, RegisteredModel.kind)) if r[1] in models}
            if cls is ModelVersion:
                return [e for e in items if str(getattr(e, "registered_model_id", ""))
                        in model_ids]
            out = []
            for e in items:  # artifacts: known ones by their local model; new ones are
                link = self.ledger.link_by_remote_id(conn, "artifacts", str(e.id))
                if link is None or self._model_of(conn, link.uid) in models:
                    out.append(e)  # placed by _artifacts, which lists in-scope versions only
            return out

    @staticmethod
    def _model_of(conn: Any, uid: str) -> str | None:
        row = conn.execute("SELECT m.name FROM artifacts a JOIN contexts v ON v.id = "
                           "a.version_id JOIN contexts m ON m.id = v.parent_id WHERE a.uid = ?",
                           (uid,)).fetchone()
        return None if row is None else str(row[0])

    # -- artifacts ----------------------------------------------------------------------------

    def _artifacts(self, items: list[BaseResource]) -> None:
        unknown: dict[str, BaseResource] = {}
        with self.store.db.read() as conn:
            for entity in items:
                if self.ledger.link_by_remote_id(conn, "artifacts", str(entity.id)) is None:
                    unknown[str(entity.id)] = entity
        for entity in items:
            if str(entity.id) not in unknown:
                self._apply(entity, "artifacts", None)
        if not unknown:
            return
        # /artifacts does not say which version an artifact belongs to: list the versions'
        # artifacts, the most recently changed versions first, until every one is placed.
        models = self.engine.models
        with self.store.db.read() as conn:
            versions = [(row["remote_id"], row["entity_uid"]) for row in conn.execute(
                "SELECT l.remote_id, l.entity_uid, m.name AS model FROM sync_links l JOIN "
                "contexts c ON c.uid = l.entity_uid JOIN contexts m ON m.id = c.parent_id "
                "WHERE l.remote = ? AND c.kind = ? ORDER BY l.base_update_time DESC",
                (self.ledger.remote, ModelVersion.kind))
                if models is None or row["model"] in models]
        for remote_id, uid in versions:
            if not unknown:
                break
            for artifact in self.remote.list_all(Artifact, version_id=remote_id):
                if str(artifact.id) in unknown:
                    unknown.pop(str(artifact.id))
                    self._apply(artifact, "artifacts", uid)
        self.skipped += len(unknown)

    # -- one entity ---------------------------------------------------------------------------

    def _apply(self, entity: BaseResource, table: str, parent_uid: str | None) -> None:
        theirs = snapshot(entity)
        with self.store.db.write() as conn:
            link = self.ledger.link_by_remote_id(conn, table, str(entity.id))
            if link is None:
                self._insert(conn, entity, table, parent_uid)
                return
            if int(entity.last_update_time_since_epoch or 0) == link.base_update_time \
                    and content_hash(theirs) == link.base_hash:
                return
            local = self.ledger.load(conn, table, link.uid)
            if local is None:
                return
            pending: set[str] = set()
            for (text,) in conn.execute("SELECT fields FROM outbox WHERE entity_uid = ?",
                                        (link.uid,)):
                pending.update(json.loads(text))
            frozen = self.ledger.frozen_fields(conn, link.uid)
            mine = snapshot(self.engine.outgoing(local.entity))
            eff = dict(link.base)
            for name in mine:
                if name in pending or name in frozen:
                    eff[name] = mine[name]
            if CP in pending or any(f.startswith(CP + ".") for f in frozen):
                eff[CP] = mine.get(CP) or {}
            result = merge(link.base, eff, theirs)
            policy = self.engine.on_conflict
            to_local = result.to_local
            new_conflicts = {n: c for n, c in result.conflicts.items() if n not in frozen}
            if new_conflicts and policy == "theirs":
                from .push import Pusher

                to_local = Pusher._override(to_local, new_conflicts, side=2)
            to_local = self.engine.localize(to_local, local.entity)
            updated = apply_snapshot(local.entity, to_local)
            if updated is not local.entity:
                self.ledger.write_entity(conn, local, updated)
            self.ledger.set_link(conn, link.uid, table, entity, None)
            if new_conflicts:
                from .merge import ABSENT

                def clean(v: Any) -> Any:
                    return None if v is ABSENT else v

                names = sorted(new_conflicts)
                self.ledger.add_conflict(
                    conn, local=local, kind="update-update", fields_=names,
                    base={n: clean(new_conflicts[n][0]) for n in names},
                    mine={n: clean(new_conflicts[n][1]) for n in names},
                    theirs={n: clean(new_conflicts[n][2]) for n in names},
                    remote_id=str(entity.id), message="changed on both sides (pull)",
                    resolution=None if policy == "manual" else f"policy:{policy}")
                self.conflicts += 1
            self.pulled += 1

    def _insert(self, conn: Any, entity: BaseResource, table: str, parent_uid: str | None
                ) -> None:
        parent_row: int | None = None
        if isinstance(entity, ModelVersion):
            plink = self.ledger.link_by_remote_id(conn, "contexts",
                                                  str(entity.registered_model_id))
            if plink is None:
                self.skipped += 1
                return
            parent_uid = plink.uid
        if parent_uid is not None:
            row = conn.execute("SELECT id FROM contexts WHERE uid = ?", (parent_uid,)).fetchone()
            if row is None:
                self.skipped += 1
                return
            parent_row = int(row[0])
        elif isinstance(entity, Artifact):
            self.skipped += 1  # top-level artifacts are not mirrored in this version
            return
        # A local entity with the same natural key: a pending create (push adopts it or
        # records a conflict), or a leftover; never a second row.
        name = getattr(entity, "name", None)
        parent_col = "version_id" if table == "artifacts" else "parent_id"
        clash = conn.execute(
            f"SELECT uid FROM {table} WHERE kind = ? AND {parent_col} = ? AND name = ?",
            (entity.kind, parent_row or 0, name)).fetchone()
        if clash is not None:
            self.skipped += 1
            return
        uid, _row_id = self.ledger.insert_pulled(conn, entity, parent_row)
        self.ledger.set_link(conn, uid, table, entity, None)
        self.pulled += 1
