"""A dry run: the plan a push would send, described from local data only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from localhub._entities import SPECS_BY_KIND
from localhub.types import BaseResource, ModelVersion, RegisteredModel, ServingEnvironment

from .plan import iter_plan

if TYPE_CHECKING:
    from .engine import SyncReport
    from .run import RunContext

__all__ = ["describe_plan", "entity_class"]


def entity_class(kind: str) -> type[BaseResource]:
    """The domain class the REST client addresses an entity of ``kind`` by."""
    for cls in (RegisteredModel, ModelVersion, ServingEnvironment):
        if cls.kind == kind:
            return cls
    return SPECS_BY_KIND[kind].cls


def describe_plan(ctx: RunContext, report: SyncReport) -> SyncReport:
    """The plan from local data only: no request is sent, nothing is written."""
    count = 0
    for op in iter_plan(ctx.store, ctx.models):
        count += 1
        if not op.supported:
            op.notes.append("not synced by this version")
            report.plan.append(op.as_dict())
            continue
        with ctx.store.db.read() as conn:
            link = ctx.ledger.link(conn, op.uid)
            item = ctx.ledger.item(conn, op.uid)
            local = ctx.store.load(conn, op.table, op.uid)
            conflicts = ctx.ledger.open_conflicts(conn, op.uid)
            parent_link = None if local is None or local.parent_uid is None else \
                ctx.ledger.link(conn, local.parent_uid)
        cls = entity_class(op.kind)
        if link is None:
            if item is not None and item["create_attempted_at"] is not None:
                op.requests.append(f"GET {ctx.remote.api} lookup by name (create was "
                                   "attempted before)")
                op.notes.append("may adopt an equal remote entity")
            parent: str | None = None
            if op.table == "artifacts" and local is not None and local.parent_uid:
                parent = "{version}" if parent_link is None else parent_link.remote_id
            op.requests.append(str(ctx.remote.describe("POST", cls, parent_id=parent)))
        elif link.etag and ctx.use_etags and ctx.if_match.honoured():
            op.requests.append(str(ctx.remote.describe(
                "PATCH", cls, remote_id=link.remote_id, note="If-Match")))
        else:
            op.requests.append(str(ctx.remote.describe("GET", cls,
                                                          remote_id=link.remote_id)))
            op.requests.append(str(ctx.remote.describe("PATCH", cls,
                                                          remote_id=link.remote_id)))
        for conflict in conflicts:
            op.notes.append(f"open conflict #{conflict['id']} ({conflict['kind']})")
        if local is None:
            op.notes.append("entity no longer exists locally")
        elif (op.create or "uri" in op.fields) and hasattr(local.entity, "uri"):
            rewrite = ctx.uri_rewriter.rewrite(getattr(local.entity, "uri", None))
            if rewrite is not None:
                op.uri_rewrite = rewrite
                op.notes.append(f"uri rewritten: {rewrite['from']} -> {rewrite['to']}")
        report.plan.append(op.as_dict())
    report.remaining = count
    report.open_conflicts = ctx.ledger.open_conflict_ids()
    return report
