"""The read-only pages: ``/``, ``/models/{name}``, ``/sync``, ``/conflicts``, ``/login``.

Every read goes through the facades the CLI uses (``ModelRegistry``, ``sync_status``,
``conflicts``); the listing adds one query per page for each model's latest version and
sync state (:mod:`.queries`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ...errors import LocalHubError
from ...types import RegisteredModel
from ..http import error_for
from .queries import like_filter, model_artifact, page_details, sync_word
from .render import format_meta_value, props_text, secure_headers, when
from .syncjob import configured_remote

if TYPE_CHECKING:
    from fastapi import FastAPI

    from . import WebContext

__all__ = ["PAGE_SIZE", "add_routes", "conflict_rows", "model_context"]

PAGE_SIZE = 50


def _entity_sync(ctx: WebContext, entity: Any) -> str:
    # the sync package (and what it imports) loads with the first page that needs it, not
    # when the server starts
    from localhub.sync import entity_sync_state

    state = entity_sync_state(ctx.store, entity)
    return sync_word(state["conflicts_open"], 1 if state["set_aside"] else 0, state["pending"])


def models_context(ctx: WebContext, query: str, after: str) -> dict[str, Any]:
    """The listing: newest change first, one page, filtered by name."""
    page = ctx.store.list_page(RegisteredModel, filter_query=like_filter(query) if query else None,
                          order_by="LAST_UPDATE_TIME", sort_order="DESC", page_size=PAGE_SIZE,
                          page_token=after or None)
    details = page_details(ctx.store, [str(m.id) for m in page.items])
    return {"models": [(m, details.get(str(m.id))) for m in page.items], "q": query,
            "next": page.next_page_token, "first": bool(after)}


def model_context(ctx: WebContext, name: str) -> dict[str, Any] | None:
    """A model with its versions, their artifacts and sync states; None if there is none."""
    model = ctx.registry.get_registered_model(name)
    if model is None:
        return None
    versions = []
    for version in ctx.registry.get_model_versions(name, order_by="CREATE_TIME",
                                                   descending=True):
        artifacts = ctx.store.version_artifacts(str(version.id))
        versions.append({"v": version, "artifacts": artifacts,
                         "main": model_artifact(artifacts, name),
                         "sync": _entity_sync(ctx, version),
                         "props": props_text(version.custom_properties)})
    return {"model": model, "sync": _entity_sync(ctx, model), "versions": versions,
            "props": props_text(model.custom_properties)}


def conflict_rows(ctx: WebContext) -> list[dict[str, Any]]:
    """The open conflicts as the CLI shows them, each with its sentence (``summary``)."""
    from ...conflict_view import conflict_data
    from ...sync.conflicts import FIELD_KINDS

    rows = []
    for conflict in ctx.registry.conflicts():
        data = conflict_data(ctx.store, conflict)
        data["one_field"] = len(conflict.fields) == 1
        data["per_field"] = len(conflict.fields) > 1 and conflict.kind in FIELD_KINDS
        data["created"] = when(conflict.created_at)
        for value in data["values"]:
            prop = str(value["field"]).startswith("custom_properties.")
            value["label"] = ("property " + value["field"].split(".", 1)[1] if prop
                              else value["field"])
            value["shown"] = {side: _shown(value[side], prop)
                              for side in ("base", "local", "remote")}
        rows.append(data)
    return rows


def _shown(value: Any, prop: bool) -> str:
    """A conflict value as text: a property as ``--meta`` takes it, '' for none."""
    if value is None:
        return ""
    if prop:
        return format_meta_value(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def sync_context(ctx: WebContext) -> dict[str, Any]:
    """Upstream, last push and pull, the queue by kind, set-aside items, the last run."""
    status = ctx.registry.sync_status()
    try:
        remote: Any = configured_remote(ctx.store.path)
        remote_error = None
    except LocalHubError as exc:
        remote, remote_error = None, str(exc)
    for info in status.get("remotes", {}).values():
        for key in ("last_push", "last_pull"):
            info[key] = when(info.get(key)) or "never"
    for item in status.get("set_aside", []):
        item["since"] = when(item.get("since"))
    run = ctx.job.last
    return {"state": status, "remote": remote, "remote_error": remote_error,
            "run": run.as_dict() if run is not None else None,
            "pending": ctx.registry.pending()}


def add_routes(app: FastAPI, ctx: WebContext) -> None:
    """Register the GET pages on ``app``."""

    async def guarded(request: Request, template: str, build: Any, *args: Any,
                      **extra: Any) -> Response:
        try:
            data = await run_in_threadpool(build, ctx, *args)
        except LocalHubError as exc:
            err = error_for(exc)
            return ctx.render.page(request, "error.html", status=err.status,
                                   message=err.message)
        if data is None:
            return ctx.render.page(request, "error.html", status=404,
                                   message=f"no model named {args[0]!r}: not found")
        return ctx.render.page(request, template, **data, **extra)

    @app.get("/", include_in_schema=False)
    async def models_page(request: Request, q: str = "", after: str = "") -> Response:
        return await guarded(request, "models.html", models_context, q.strip(), after)

    @app.get("/models/{name:path}", include_in_schema=False)
    async def model_page(request: Request, name: str) -> Response:
        return await guarded(request, "model.html", model_context, name,
                             saved=request.query_params.get("saved") == "1")

    @app.get("/sync", include_in_schema=False)
    async def sync_page(request: Request) -> Response:
        return await guarded(request, "sync.html", sync_context)

    @app.get("/sync/progress", include_in_schema=False)
    async def sync_progress() -> Response:
        run = ctx.job.last
        response = JSONResponse(run.as_dict() if run is not None else {"running": False})
        secure_headers(response)
        return response

    @app.get("/conflicts", include_in_schema=False)
    async def conflicts_page(request: Request) -> Response:
        def build(c: WebContext) -> dict[str, Any]:
            return {"conflicts": conflict_rows(c)}

        return await guarded(request, "conflicts.html", build,
                             resolved=request.query_params.get("resolved") == "1")

    @app.get("/login", include_in_schema=False)
    async def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002
        return ctx.render.page(request, "login.html", next=_safe_next(next),
                               token_required=ctx.token is not None)


def _safe_next(target: str) -> str:
    """A local path to go to after logging in (never another site)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
