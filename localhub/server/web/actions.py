"""The forms: edit, archive and restore (``/models/{name}``), **Sync now** (``/sync``),
**Keep local** / **Take remote** / a value (``/conflicts/{id}``), login and logout.

Every form is checked for the same origin and its CSRF token before anything is read; every
write goes through the facades the CLI uses, so it is validated and queued the same way.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from localhub._entities import spec_for, validated_values
from localhub.property_text import parse_property_value as parse_meta_value

from ...errors import InvalidInputError, LocalHubError, NotFoundError
from ...types import CP
from ..http import error_for
from .pages import _safe_next, conflict_rows, model_context
from .render import parse_props_text, secure_headers
from .security import CSRF_COOKIE, SESSION_COOKIE, cookie_header, same_origin

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ...types import ModelVersion, RegisteredModel
    from . import WebContext

__all__ = ["add_routes", "edit_entity"]

_MAX_FORM = 256 * 1024


class FormRefused(Exception):
    """A form that is not this site's own (status, message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def read_form(ctx: WebContext, request: Request) -> dict[str, str]:
    """The form's fields, once it is known to come from this site's own page."""
    if not same_origin(dict(request.headers), request.url.scheme):
        raise FormRefused(403, "error: this form was sent from another site; use the pages "
                               "served by localhub itself")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormRefused(415, "error: a form must be sent as "
                               "application/x-www-form-urlencoded; submit it from the page")
    body = await request.body()
    if len(body) > _MAX_FORM:
        raise FormRefused(413, "error: the form is too large; shorten the values")
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                max_num_fields=100, strict_parsing=False))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormRefused(400, f"error: the form could not be read ({exc}); submit it from "
                               "the page") from exc
    if not ctx.keys.csrf_ok(request.cookies.get(CSRF_COOKIE), fields.get("csrf")):
        raise FormRefused(403, "error: the form's security token is missing or stale; reload "
                               "the page and submit again")
    return fields


def edit_entity(ctx: WebContext, name: str, fields: dict[str, str]) -> None:
    """Apply one model-page form, as ``localhub update`` / ``archive`` / ``restore`` do."""
    action, version = fields.get("action", ""), fields.get("version") or None
    registry = ctx.registry
    if action in ("archive", "restore"):
        if version is None:
            (registry.archive_model if action == "archive" else registry.restore_model)(name)
        else:
            (registry.archive_model_version if action == "archive"
             else registry.restore_model_version)(name, version)
        return
    if action != "edit":
        raise InvalidInputError("action", "must be edit, archive or restore")
    # Read and write in one transaction, as the CLI's update does.
    with registry.store.batch():
        target: RegisteredModel | ModelVersion | None = (
            registry.get_registered_model(name) if version is None
            else registry.get_model_version(name, version))
        if target is None:
            raise NotFoundError(f"no model version {name}:{version}", entity="model version",
                                key=f"{name}:{version}")
        if "description" in fields:
            target.description = fields["description"] or None
        if "props" in fields:
            try:
                target.custom_properties = parse_props_text(fields["props"],
                                                            target.custom_properties)
            except ValueError as exc:
                raise InvalidInputError("custom properties", str(exc)) from exc
        validated_values(spec_for(target), target)
        registry.store.update(target)


def resolve_conflict(ctx: WebContext, conflict_id: int, fields: dict[str, str]) -> None:
    """Apply one conflicts-page form, as ``localhub resolve`` does."""
    action = fields.get("action", "")
    if action in ("ours", "theirs"):
        ctx.registry.resolve(conflict_id, action)
        return
    if action == "fields":
        ctx.registry.resolve(conflict_id, fields=_field_picks(fields))
        return
    if action != "value":
        raise InvalidInputError("action", "must be ours, theirs, value or fields")
    found = [c for c in ctx.registry.conflicts() if c.id == conflict_id]
    if not found:
        raise NotFoundError(f"no open conflict with id {conflict_id}", entity="conflict",
                            key=str(conflict_id))
    field = found[0].fields[0] if found[0].fields else ""
    ctx.registry.resolve(conflict_id, "value", _typed(field, fields.get("value", "")))


def _typed(field: str, text: str) -> Any:
    """A value typed in a form: a custom property's as ``--meta`` types it, others as text."""
    return parse_meta_value(text) if field.startswith(CP + ".") else text


def _field_picks(fields: dict[str, str]) -> dict[str, Any]:
    """The per-field form's choices: ``pick:FIELD`` is ours, theirs or value, and a value is
    read from ``value:FIELD`` (typed as ``--meta`` types it, for a custom property)."""
    from ...sync.conflicts import Value  # the sync package loads on first use

    picks: dict[str, Any] = {}
    for key, pick in fields.items():
        if not key.startswith("pick:"):
            continue
        name = key[len("pick:"):]
        if pick == "value":
            picks[name] = Value(_typed(name, fields.get("value:" + name, "")))
        elif pick in ("ours", "theirs"):
            picks[name] = pick
        else:
            raise InvalidInputError("fields", "each field takes ours, theirs or a value")
    return picks


def add_routes(app: FastAPI, ctx: WebContext) -> None:
    """Register the form handlers on ``app``."""

    async def handle(request: Request, work: Callable[[dict[str, str]], Any],
                     on_error: Callable[[dict[str, str], str, int], Response],
                     done: str) -> Response:
        try:
            fields = await read_form(ctx, request)
        except FormRefused as exc:
            response = Response(exc.message + "\n", status_code=exc.status,
                                media_type="text/plain")
            secure_headers(response)
            return response
        try:
            await run_in_threadpool(work, fields)
        except LocalHubError as exc:
            err = error_for(exc)
            return on_error(fields, err.message, err.status)
        return RedirectResponse(done, status_code=303)

    @app.post("/models/{name:path}", include_in_schema=False)
    async def model_form(request: Request, name: str) -> Response:
        def failed(fields: dict[str, str], message: str, status: int) -> Response:
            data = model_context(ctx, name)
            if data is None:
                return ctx.render.page(request, "error.html", status=status, message=message)
            return ctx.render.page(request, "model.html", status=status, error=message,
                                   form=fields, **data)

        done = "/models/" + quote(name, safe="") + "?saved=1"
        return await handle(request, lambda f: edit_entity(ctx, name, f), failed, done)

    @app.post("/conflicts/{conflict_id}", include_in_schema=False)
    async def conflict_form(request: Request, conflict_id: int) -> Response:
        def failed(fields: dict[str, str], message: str, status: int) -> Response:
            return ctx.render.page(request, "conflicts.html", status=status, error=message,
                                   conflicts=conflict_rows(ctx))

        return await handle(request, lambda f: resolve_conflict(ctx, conflict_id, f), failed,
                            "/conflicts?resolved=1")

    @app.post("/sync", include_in_schema=False)
    async def sync_form(request: Request) -> Response:
        def failed(fields: dict[str, str], message: str, status: int) -> Response:
            return ctx.render.page(request, "error.html", status=status, message=message)

        return await handle(request, lambda f: ctx.job.start(), failed, "/sync")

    _add_login_routes(app, ctx)


def _add_login_routes(app: FastAPI, ctx: WebContext) -> None:
    """``/login`` (sets the session cookie when the token matches) and ``/logout``."""

    @app.post("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        try:
            fields = await read_form(ctx, request)
        except FormRefused as exc:
            return Response(exc.message + "\n", status_code=exc.status, media_type="text/plain")
        target = _safe_next(fields.get("next", "/"))
        given = fields.get("token", "").encode()
        if ctx.token is None or not hmac.compare_digest(given, ctx.token.encode()):
            return ctx.render.page(request, "login.html", status=401, next=target,
                                   token_required=ctx.token is not None,
                                   error="error: that is not the server's token; enter the "
                                         "value of the variable given to --token-env")
        response = RedirectResponse(target, status_code=303)
        response.headers.append("set-cookie", cookie_header(
            SESSION_COOKIE, ctx.keys.new_session(), secure=request.url.scheme == "https"))
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout_form(request: Request) -> Response:
        try:
            await read_form(ctx, request)
        except FormRefused as exc:
            return Response(exc.message + "\n", status_code=exc.status, media_type="text/plain")
        response = RedirectResponse("/login", status_code=303)
        response.headers.append("set-cookie", cookie_header(
            SESSION_COOKIE, "", secure=request.url.scheme == "https", max_age=0))
        return response
