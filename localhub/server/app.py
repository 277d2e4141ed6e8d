"""The FastAPI application: routes for v1 and v1alpha3, errors, auth and the access log."""

from __future__ import annotations

import hmac
import json
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from ..database_identity import CLIENT_HEADER, SERVER_HEADER, database_identity
from ..store import SQLiteStore
from . import routes_artifacts, routes_models, routes_serving
from .guard import (
    DEFAULT_MAX_BODY,
    BodyRefused,
    HostPolicy,
    cross_origin,
    declared_too_large,
    escape_for_log,
    header,
    needs_json,
    read_body,
)
from .http import ApiError, Ctx, Handler, error_body, error_for
from .quirks import Quirks, QuirksMiddleware
from .web import mount as mount_web

__all__ = ["API_PREFIXES", "build_app", "configure_logging"]

log = logging.getLogger("localhub.server")

#: Base path -> names of the path parameters (by neutral key) in that API version.
API_PREFIXES: dict[str, dict[str, str]] = {
    "/api/model_registry/v1": {
        "rm": "registered_model_id", "mv": "model_version_id", "ma": "model_artifact_id",
        "art": "id", "se": "serving_environment_id", "is": "inference_service_id",
    },
    "/api/model_registry/v1alpha3": {
        "rm": "registeredmodelId", "mv": "modelversionId", "ma": "modelartifactId",
        "art": "id", "se": "servingenvironmentId", "is": "inferenceserviceId",
    },
}
_HEALTH = ("/readyz/health", "/readyz/isDirty")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def configure_logging() -> None:
    """Send the access log (one line per request) to stderr."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    status_code=status, headers=headers, media_type="application/json")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, error_body(status, message), headers)


class Gate:
    """Pure-ASGI middleware: access log, Host, Origin, bearer token, content type, body size.

    Early refusals answer before any route runs; the body is read here (bounded in size and
    time) and handed on to the app, so no route ever buffers more than ``max_body`` bytes.
    """

    def __init__(self, app: ASGIApp, token: str | None, hosts: HostPolicy | None = None,
                 max_body: int = DEFAULT_MAX_BODY, identity: str | None = None) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.hosts = hosts or HostPolicy()
        self.max_body = max_body
        self.identity = identity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]
        identity = [(SERVER_HEADER.lower().encode(), self.identity.encode())] \
            if self.identity else []

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                if identity:
                    message["headers"] = [*message.get("headers", []), *identity]
            await send(message)

        try:
            early = self._reject(scope)
            if early is None:
                early, receive = await self._buffer_body(scope, receive)
            elif early.status_code != 413:
                await self._drain(scope, receive)
            if early is not None:
                await early(scope, receive, send_logged)
            else:
                await self.app(scope, receive, send_logged)
        finally:
            # Path only: query strings may carry tokens; headers are never logged. Control
            # characters are escaped so that a path cannot forge log lines.
            log.info("%s %s %d %.1fms", scope["method"], escape_for_log(scope["path"]),
                     status[0], (time.perf_counter() - start) * 1000)

    def _reject(self, scope: Scope) -> Response | None:
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query or "\x00" in scope["path"]:
            return _error(400, "NUL bytes are not allowed in the request: bad request")
        host = header(scope, b"host")
        if not self.hosts.allows(host):
            shown = (host or b"").decode("latin-1")[:80]
            return _error(421, f"host {shown!r} does not name this server; use 127.0.0.1 or "
                               "localhost, or start serve with --allow-host NAME",
                          {"Connection": "close"})
        why = cross_origin(scope)
        if why is not None:
            return _error(403, f"cross-origin request refused ({why}): a page of another site "
                               "cannot change this registry", {"Connection": "close"})
        refused = self._check_token(scope)
        if refused is not None:
            return refused
        theirs = header(scope, CLIENT_HEADER.lower().encode())
        if self.identity and theirs is not None and theirs.decode("latin-1") == self.identity:
            return _error(409, "this server serves the client's own database; a database "
                               "cannot sync with itself: sync with another registry")
        if needs_json(scope):
            return _error(415, "request body must be application/json: unsupported media type",
                          {"Connection": "close"})
        if declared_too_large(scope, self.max_body):
            return _error(413, f"request body larger than {self.max_body} bytes; raise the "
                               "limit with serve --max-body", {"Connection": "close"})
        return None

    def _check_token(self, scope: Scope) -> Response | None:
        if self.token is None or scope["path"].endswith(_HEALTH):
            return None
        scheme, _, credential = (header(scope, b"authorization") or b"").partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(credential.strip(),
                                                                   self.token):
            return _error(401, "missing or invalid bearer token",
                          {"WWW-Authenticate": 'Bearer realm="localhub"'})
        return None

    async def _drain(self, scope: Scope, receive: Receive) -> None:
        """Read (and drop) the body of a refused request: closing a socket with unread data
        makes the kernel reset the connection, and the client never sees the answer."""
        if header(scope, b"content-length") is None \
                and header(scope, b"transfer-encoding") is None:
            return
        try:
            await read_body(receive, self.max_body)
        except BodyRefused:
            pass  # too large or too slow: the refusal stands, the connection closes

    async def _buffer_body(self, scope: Scope, receive: Receive
                           ) -> tuple[Response | None, Receive]:
        """Read a request body within the limits; the app then receives it in one message."""
        if header(scope, b"content-length") is None \
                and header(scope, b"transfer-encoding") is None:
            return None, receive
        try:
            body = await read_body(receive, self.max_body)
        except BodyRefused as exc:
            return _error(exc.status, exc.message, {"Connection": "close"}), receive
        if body is None:  # the client went away: nothing to answer
            return _error(400, "client disconnected"), receive
        pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        return None, replay


def _endpoint(store: SQLiteStore, lock: threading.Lock, handler: Handler,
              names: dict[str, str]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        ctx = Ctx(store=store,
                  params={key: request.path_params[name] for key, name in names.items()
                          if name in request.path_params},
                  query=dict(parse_qsl(request.url.query, keep_blank_values=True)),
                  body=body, headers=request.headers, lock=lock)
        try:
            # A read is an in-process SQLite lookup well under a millisecond: run it inline,
            # unless a write holds the connection (it may wait on fsync or another process),
            # in which case it waits in the thread pool and the loop stays free. Writes always
            # go to the thread pool. (WAL readers never wait for other processes' writers.)
            if request.method == "GET" and store.db.lock.acquire(blocking=False):
                try:
                    reply = handler(ctx)
                finally:
                    store.db.lock.release()
            else:
                reply = await run_in_threadpool(handler, ctx)
        except Exception as exc:
            err = error_for(exc)
            if err.status >= 500:
                log.error("error in %s %s", request.method, request.url.path, exc_info=exc)
            body_out = err.body if err.body is not None else error_body(err.status, err.message,
                                                                        err.code)
            return _json(err.status, body_out, err.headers)
        return _json(reply.status, reply.body, reply.headers)

    return endpoint


def _allowed_methods(app: FastAPI, request: Request) -> str:
    """Every method some route serves at the request's path, for a 405's ``Allow``."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _child = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def build_app(store: SQLiteStore, *, token: str | None = None, bind: str = "127.0.0.1",
              allow_hosts: Sequence[str] = (), max_body: int = DEFAULT_MAX_BODY,
              quirks: Quirks | None = None) -> FastAPI:
    """The app (see :func:`localhub.server.create_app`)."""
    app = FastAPI(title="localhub Model Registry", version="v1", docs_url=None,
                  redoc_url=None, openapi_url=None)
    lock = threading.Lock()
    routes = routes_models.ROUTES + routes_artifacts.ROUTES + routes_serving.ROUTES
    for prefix, names in API_PREFIXES.items():
        for method, template, handler in routes:
            path = prefix + template.format(**{k: "{" + v + "}" for k, v in names.items()})
            app.add_api_route(path, _endpoint(store, lock, handler, names), methods=[method],
                              include_in_schema=False)

    def health() -> Response:
        try:
            store.get_meta("schema_version")
        except Exception as exc:  # noqa: BLE001
            return _error(503, f"database not available: {type(exc).__name__}")
        return PlainTextResponse("OK")

    for path in _HEALTH:
        app.add_api_route(path, health, methods=["GET"], include_in_schema=False)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "no such route", 405: "method not allowed"}.get(exc.status_code,
                                                                       str(exc.detail))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route on the path only; one path has a
            # route per method (GET and PATCH of an entity), so name them all.
            headers["Allow"] = _allowed_methods(app, request)
        return _error(exc.status_code, message, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return _error(400, f"invalid request: {exc.errors()!s:.300}: bad request")

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> Response:
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return _error(500, "internal server error")

    if quirks is not None and quirks.rewrites:  # tests only; inside Gate, so its checks hold
        app.add_middleware(QuirksMiddleware, quirks=quirks, store=store)
    app.add_middleware(Gate, token=token, hosts=HostPolicy(bind, allow_hosts),
                       max_body=max_body, identity=database_identity(store))
    mount_web(app, store, token=token)  # the web pages (their login check runs before Gate)
    return app
