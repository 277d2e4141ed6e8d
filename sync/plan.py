"""The push plan: the outbox coalesced per entity, parents first, as typed operations."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from localhub.store import SQLiteStore
from localhub.types import (
    ARTIFACT_TYPES,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)

__all__ = ["RANK", "Op", "build_plan"]

#: Push order by entity kind: models and serving environments, then versions, then artifacts.
RANK: dict[str, int] = {RegisteredModel.kind: 0, ServingEnvironment.kind: 0, ModelVersion.kind: 1,
                        **{kind: 2 for kind in ARTIFACT_TYPES}}


@dataclass
class Op:
    """Every queued change of one entity, coalesced."""

    uid: str
    table: str
    kind: str
    #: True when the entity's create is queued (it may still exist remotely: see push).
    create: bool
    #: Union of the changed fields (domain names).
    fields: set[str]
    min_seq: int
    max_seq: int
    #: Human label, e.g. ``model m1``, ``version m1:v1``, ``artifact m1:v1/m1``.
    label: str = ""
    #: Name of the registered model the entity belongs to (None when it has none).
    model: str | None = None
    #: Artifact URI rewrite applied on push: ``{"from": ..., "to": ..., "rule": [from, to]}``.
    uri_rewrite: dict[str, Any] | None = None
    #: Filled by a dry run: the requests this op would send, and notes.
    requests: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        return self.kind in RANK

    def as_dict(self) -> dict[str, Any]:
        """Stable keys (documented in docs/sync.md): entity, kind, model, op, fields,
        requests, notes, uri_rewrite."""
        return {"entity": self.label, "kind": self.kind, "model": self.model,
                "op": "create" if self.create else "update", "fields": sorted(self.fields),
                "requests": list(self.requests), "notes": list(self.notes),
                "uri_rewrite": None if self.uri_rewrite is None else dict(self.uri_rewrite)}

    to_dict = as_dict


def build_plan(store: SQLiteStore, models: Collection[str] | None = None) -> list[Op]:
    """Read the outbox (one snapshot) and coalesce it, parents before children.

    ``models``: keep only operations of entities of these registered models."""
    ops: dict[str, Op] = {}
    with store.db.read() as conn:
        rows = conn.execute("SELECT * FROM outbox ORDER BY seq").fetchall()
        for row in rows:
            op = ops.get(row["entity_uid"])
            if op is None:
                op = ops[row["entity_uid"]] = Op(row["entity_uid"], row["entity_table"],
                                                 row["entity_kind"], False, set(), row["seq"],
                                                 row["seq"])
            op.create = op.create or row["op"] == "create"
            op.fields.update(json.loads(row["fields"]))
            op.max_seq = row["seq"]
        for op in ops.values():
            op.label, op.model = _label(conn, op)
    out = ops.values() if models is None else [o for o in ops.values() if o.model in models]
    return sorted(out, key=lambda o: (RANK.get(o.kind, 9), o.min_seq))


def _label(conn: Any, op: Op) -> tuple[str, str | None]:
    if op.table == "contexts":
        row = conn.execute("SELECT c.name, c.kind, p.name AS parent FROM contexts c LEFT JOIN "
                           "contexts p ON p.id = c.parent_id WHERE c.uid = ?",
                           (op.uid,)).fetchone()
        if row is None:
            return op.uid, None
        if row["kind"] == ModelVersion.kind:
            return f"version {row['parent']}:{row['name']}", row["parent"]
        model = row["name"] if row["kind"] == RegisteredModel.kind else None
        return f"{row['kind'].replace('registered-', '')} {row['name']}", model
    row = conn.execute("SELECT a.name, v.name AS version, m.name AS model FROM artifacts a "
                       "LEFT JOIN contexts v ON v.id = a.version_id LEFT JOIN contexts m ON "
                       "m.id = v.parent_id WHERE a.uid = ?", (op.uid,)).fetchone()
    if row is None:
        return op.uid, None
    return f"artifact {row['model']}:{row['version']}/{row['name']}", row["model"]
