"""The push plan: the outbox coalesced per entity, parents first, as typed operations.

The plan is streamed: :func:`iter_plan` walks the outbox rank by rank (models and serving
environments, then versions, then artifacts, then kinds this version does not sync), each rank in
``seq`` order, in keyset pages, and yields one coalesced :class:`Op` per entity at the entity's
first queued row. Memory stays flat in the queue length: one page of rows at a time.

A plan is a snapshot of the outbox at its start: only rows up to the ``bound`` (the highest
``seq`` when the walk began) are read, so changes queued while a push runs wait for the next
run, and every op's ``max_seq`` (what its ack deletes) is fixed when the op is built. Rows of an
entity already pushed in this walk are deleted by its ack; rows of an entity pushed but not
acknowledged (blocked, set aside, conflict) are skipped because an earlier row of the same entity
is still queued.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from localhub.store import SQLiteStore
from localhub.types import (
    ARTIFACT_TYPES,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)

__all__ = ["RANK", "Op", "build_plan", "count_plan", "iter_plan", "plan_bound",
           "queued_entities"]

#: Push order by entity kind: models and serving environments, then versions, then artifacts.
RANK: dict[str, int] = {RegisteredModel.kind: 0, ServingEnvironment.kind: 0, ModelVersion.kind: 1,
                        **{kind: 2 for kind in ARTIFACT_TYPES}}

#: Entities per page of the outbox walk.
PAGE_SIZE = 500


@dataclass(slots=True)
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

    def to_dict(self) -> dict[str, Any]:
        return self.as_dict()


def _rank_filters() -> list[tuple[str, tuple[str, ...]]]:
    """(SQL condition on ``o.entity_kind``, its parameters) per rank, in push order."""
    out = []
    for rank in sorted(set(RANK.values())):
        kinds = tuple(sorted(k for k, r in RANK.items() if r == rank))
        out.append((f"o.entity_kind IN ({','.join('?' * len(kinds))})", kinds))
    every = tuple(sorted(RANK))
    out.append((f"o.entity_kind NOT IN ({','.join('?' * len(every))})", every))
    return out


#: First queued row of each entity (no earlier row of the same entity), within the bound.
_FIRST_ROWS = ("SELECT o.seq, o.entity_uid, o.entity_table, o.entity_kind FROM outbox o "
               "WHERE o.seq > ? AND o.seq <= ? AND {cond} AND NOT EXISTS (SELECT 1 FROM outbox "
               "x WHERE x.entity_uid = o.entity_uid AND x.seq < o.seq) ORDER BY o.seq LIMIT ?")


def plan_bound(store: SQLiteStore) -> int:
    """The highest queued ``seq`` now (0 when the outbox is empty): a plan's snapshot."""
    with store.db.read() as conn:
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0])


def iter_plan(store: SQLiteStore, models: Collection[str] | None = None, *,
              bound: int | None = None, supported_only: bool = False,
              page_size: int = PAGE_SIZE) -> Iterator[Op]:
    """The plan, parents before children, one op per entity, read page by page.

    ``models``: keep only operations of entities of these registered models. ``bound``: read
    rows up to this ``seq`` (default: :func:`plan_bound` now). ``supported_only``: skip kinds
    this version does not sync. No transaction is held between the ops it yields, so the
    caller may write (push, ack) while it walks."""
    if bound is None:
        bound = plan_bound(store)
    filters = _rank_filters()
    if supported_only:
        filters = filters[:-1]
    for cond, kinds in filters:
        sql = _FIRST_ROWS.format(cond=cond)
        cursor = 0
        while True:
            page: list[Op] = []
            with store.db.read() as conn:
                rows = conn.execute(sql, (cursor, bound, *kinds, page_size)).fetchall()
                for row in rows:
                    op = _coalesce(conn, row["entity_uid"], row["entity_table"],
                                   row["entity_kind"], bound)
                    if op is None:
                        continue
                    op.label, op.model = _label(conn, op)
                    if models is None or op.model in models:
                        page.append(op)
            yield from page
            if len(rows) < page_size:
                break
            cursor = int(rows[-1]["seq"])


def _coalesce(conn: Any, uid: str, table: str, kind: str, bound: int) -> Op | None:
    op: Op | None = None
    for seq, what, names in conn.execute("SELECT seq, op, fields FROM outbox WHERE entity_uid "
                                         "= ? AND seq <= ? ORDER BY seq", (uid, bound)):
        if op is None:
            op = Op(uid, table, kind, False, set(), seq, seq)
        op.create = op.create or what == "create"
        op.fields.update(json.loads(names))
        op.max_seq = seq
    return op


def build_plan(store: SQLiteStore, models: Collection[str] | None = None) -> list[Op]:
    """The whole plan as a list (see :func:`iter_plan`; a push streams it instead)."""
    return list(iter_plan(store, models))


def count_plan(store: SQLiteStore, models: Collection[str] | None = None, *,
               bound: int | None = None, supported_only: bool = False) -> int:
    """How many ops :func:`iter_plan` would yield now (one query; for progress totals)."""
    if bound is None:
        bound = plan_bound(store)
    every = tuple(sorted(RANK))
    first = ("NOT EXISTS (SELECT 1 FROM outbox x WHERE x.entity_uid = o.entity_uid AND "
             "x.seq < o.seq)")
    where = ["o.seq <= ?", first]
    params: list[Any] = [bound]
    if supported_only:
        where.append(f"o.entity_kind IN ({','.join('?' * len(every))})")
        params.extend(every)
    joins = ""
    if models is not None:
        # The model name as _label finds it (a missing row: no model).
        joins = (" LEFT JOIN contexts c ON o.entity_table = 'contexts' AND c.uid = o.entity_uid"
                 " LEFT JOIN contexts cp ON cp.id = c.parent_id"
                 " LEFT JOIN artifacts a ON o.entity_table != 'contexts' AND a.uid = "
                 "o.entity_uid LEFT JOIN contexts av ON av.id = a.version_id"
                 " LEFT JOIN contexts am ON am.id = av.parent_id")
        where.append("(CASE WHEN o.entity_table = 'contexts' THEN (CASE c.kind WHEN ? THEN "
                     "cp.name WHEN ? THEN c.name END) ELSE am.name END) IN (SELECT value FROM "
                     "json_each(?))")
        params.extend([ModelVersion.kind, RegisteredModel.kind, json.dumps(sorted(models))])
    with store.db.read() as conn:
        return int(conn.execute(f"SELECT count(*) FROM outbox o{joins} WHERE "
                                + " AND ".join(where), params).fetchone()[0])


def queued_entities(store: SQLiteStore) -> int:
    """Entities with queued changes (what a report calls ``remaining``)."""
    with store.db.read() as conn:
        return int(conn.execute("SELECT count(DISTINCT entity_uid) FROM outbox").fetchone()[0])


def _label(conn: Any, op: Any) -> tuple[str, str | None]:
    """(label, model name) of ``op``'s entity (reads ``op.table`` and ``op.uid`` only)."""
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
    if row["version"] is None:
        return f"artifact {row['name']} (no version)", None
    return f"artifact {row['model']}:{row['version']}/{row['name']}", row["model"]
