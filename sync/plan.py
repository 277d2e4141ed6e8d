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

import sqlite3
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from localhub import outbox
from localhub.types import (
    ARTIFACT_TYPES,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)

from .contract import LocalStore

__all__ = ["RANK", "Op", "build_plan", "count_plan", "iter_plan", "label_of", "plan_bound",
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


def _rank_filters() -> list[tuple[tuple[str, ...], bool]]:
    """(kinds, exclude) per rank, in push order; the last: every kind this version skips."""
    out = [(tuple(sorted(k for k, r in RANK.items() if r == rank)), False)
           for rank in sorted(set(RANK.values()))]
    out.append((tuple(sorted(RANK)), True))
    return out


def plan_bound(store: LocalStore) -> int:
    """The highest queued ``seq`` now (0 when the outbox is empty): a plan's snapshot."""
    with store.db.read() as conn:
        return outbox.bound(conn)


def iter_plan(store: LocalStore, models: Collection[str] | None = None, *,
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
    for kinds, exclude in filters:
        cursor = 0
        while True:
            page: list[Op] = []
            with store.db.read() as conn:
                rows = outbox.first_rows(conn, after=cursor, bound=bound, kinds=kinds,
                                         exclude=exclude, limit=page_size)
                for row in rows:
                    change = outbox.coalesce(conn, row["entity_uid"], bound)
                    if change is None:
                        continue
                    op = Op(change.uid, row["entity_table"], row["entity_kind"], change.create,
                            set(change.fields), change.min_seq, change.max_seq)
                    op.label, op.model = label_of(store, conn, op.table, op.uid)
                    if models is None or op.model in models:
                        page.append(op)
            yield from page
            if len(rows) < page_size:
                break
            cursor = int(rows[-1]["seq"])


def build_plan(store: LocalStore, models: Collection[str] | None = None) -> list[Op]:
    """The whole plan as a list (see :func:`iter_plan`; a push streams it instead)."""
    return list(iter_plan(store, models))


def count_plan(store: LocalStore, models: Collection[str] | None = None, *,
               bound: int | None = None, supported_only: bool = False) -> int:
    """How many ops :func:`iter_plan` would yield now (one query; for progress totals)."""
    with store.db.read() as conn:
        return outbox.count_entities(
            conn, bound=outbox.bound(conn) if bound is None else bound,
            kinds=tuple(sorted(RANK)) if supported_only else None, models=models)


def queued_entities(store: LocalStore) -> int:
    """Entities with queued changes (what a report calls ``remaining``)."""
    with store.db.read() as conn:
        return outbox.queued_entities(conn)


def label_of(store: LocalStore, conn: sqlite3.Connection, table: str, uid: str
             ) -> tuple[str, str | None]:
    """(label, model name) of the entity ``uid`` of ``table``."""
    row = store.label_rows(conn, table, uid)
    if row is None:
        return uid, None
    if table == "contexts":
        if row["kind"] == ModelVersion.kind:
            return f"version {row['parent']}:{row['name']}", row["parent"]
        model = row["name"] if row["kind"] == RegisteredModel.kind else None
        return f"{row['kind'].replace('registered-', '')} {row['name']}", model
    if row["version"] is None:
        return f"artifact {row['name']} (no version)", None
    return f"artifact {row['model']}:{row['version']}/{row['name']}", row["model"]
