"""The FastAPI application: routes for v1 and v1alpha3, errors, auth and the access log."""

from __future__ import annotations

import hmac
import json
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..store import SQLiteStore
from . import routes_artifacts, routes_models, routes_serving
from .http import ApiError, Ctx, Handler, error_body, error_for

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
    """Pure-ASGI middleware: access log, bearer-token check and NUL bytes in the query."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            early = self._reject(scope)
            if early is not None:
                await early(scope, receive, send_logged)
            else:
                await self.app(scope, receive, send_logged)
        finally:
            # Path only: query strings may carry tokens; headers are never logged.
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status[0],
                     (time.perf_counter() - start) * 1000)

    def _reject(self, scope: Scope) -> Response | None:
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query or "\x00" in scope["path"]:
            return _error(400, "NUL bytes are not allowed in the request: bad request")
        if self.token is None or scope["path"].endswith(_HEALTH):
            return None
        given = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                given = value
        scheme, _, credential = given.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(credential.strip(),
                                                                   self.token):
            return _error(401, "missing or invalid bearer token",
                          {"WWW-Authenticate": 'Bearer realm="localhub"'})
        return None


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


def build_app(store: SQLiteStore, *, token: str | None = None) -> FastAPI:
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
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "no such route", 405: "method not allowed"}.get(exc.status_code,
                                                                       str(exc.detail))
        return _error(exc.status_code, message, dict(exc.headers or {}))

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

    app.add_middleware(Gate, token=token)
    return app
