"""Test-only emulation of a real central registry's quirks for ``localhub serve``.

Off unless the environment variable ``LOCALHUB_SERVE_QUIRKS`` is set (the test harness sets
it; nothing else does). Its value is a comma-separated list of items:

``no-etag``
    No ``ETag`` on any answer, and ``If-Match`` is ignored (as the upstream Go server).
``ignore-if-match``
    ``ETag`` is still sent but ``If-Match`` is ignored (a server or proxy that drops it).
``patch-resets-state``
    A PATCH of a registered model or model version without ``state`` sets it to ``LIVE``, of
    a model artifact (``/model_artifacts/{id}``) to ``UNKNOWN``, as the Go server's handlers
    decode bodies into structs pre-filled with defaults.
``like-names``
    ``?name=`` find-one lookups (``/registered_model``, ``/model_version``, ...) match with SQL
    ``LIKE`` (``_`` one character, ``%`` any run, case-sensitive), the first match by id wins.
``clock-offset=MS``
    Every create/update timestamp the server writes is shifted by ``MS`` milliseconds.
``clock-file=PATH``
    The offset is read from ``PATH`` (an integer of milliseconds) at every write, so a test can
    step the clock while the server runs; a missing or empty file means ``clock-offset``.
``fail=METHOD:PATH[:name=GLOB]``
    Answer 500 (before the request reaches the store) for requests whose method and path
    match (``fnmatch`` globs, ``*`` for any method) and, with ``name=``, whose body's or
    query's ``name`` matches GLOB. Repeatable.

Example: ``no-etag,like-names,clock-file=/tmp/clock,fail=PATCH:*/model_versions/7``.
``serve`` prints one line per active quirk on stderr at startup and refuses quirks on a
non-loopback address. The emulation sits inside the request gate (Host, token and body checks
still apply) as one ASGI middleware; the clock is the store's ``clock``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from ..errors import InvalidInputError
from ..types import (
    Artifact,
    InferenceService,
    ModelArtifact,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)
from .http import quote

if TYPE_CHECKING:
    from ..store import SQLiteStore
    from ..types import BaseResource

__all__ = ["ENV", "Failure", "Quirks", "QuirksMiddleware", "parse", "quirks_from_env"]

#: The environment variable that switches the emulation on.
ENV = "LOCALHUB_SERVE_QUIRKS"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_FLAGS = ("no-etag", "ignore-if-match", "patch-resets-state", "like-names")
#: PATCH path suffix (after the API prefix, id stripped) -> the state the Go server defaults.
_STATE_DEFAULTS = {"/registered_models/": "LIVE", "/model_versions/": "LIVE",
                   "/model_artifacts/": "UNKNOWN"}
_API_PREFIXES = ("/api/model_registry/v1/", "/api/model_registry/v1alpha3/")


@dataclass(frozen=True)
class Failure:
    """Answer 500 for requests matching ``method`` and ``path`` (and ``name``) globs."""

    method: str
    path: str
    name: str | None = None

    def matches(self, method: str, path: str, name: str | None) -> bool:
        """Whether a request with this method, path and name falls under the rule."""
        if not (fnmatchcase(method, self.method.upper()) and fnmatchcase(path, self.path)):
            return False
        return self.name is None or (name is not None and fnmatchcase(name, self.name))

    def __str__(self) -> str:
        return f"{self.method}:{self.path}" + (f":name={self.name}" if self.name else "")


@dataclass(frozen=True)
class Quirks:
    """The active quirks (see the module docstring for each)."""

    no_etag: bool = False
    ignore_if_match: bool = False
    patch_resets_state: bool = False
    like_names: bool = False
    clock_offset_ms: int = 0
    clock_file: Path | None = None
    failures: tuple[Failure, ...] = field(default_factory=tuple)

    def describe(self) -> list[str]:
        """One line per active quirk, for the startup warning."""
        lines = [flag for flag in _FLAGS if getattr(self, flag.replace("-", "_"))]
        if self.clock_offset_ms:
            lines.append(f"clock-offset={self.clock_offset_ms} ms")
        if self.clock_file is not None:
            lines.append(f"clock-file={self.clock_file} (offset read at every write)")
        lines.extend(f"fail={failure} (answers 500)" for failure in self.failures)
        return lines

    def offset_ms(self) -> int:
        """The clock offset now: the clock file's integer, else ``clock_offset_ms``."""
        if self.clock_file is not None:
            try:
                text = self.clock_file.read_text().strip()
            except OSError:
                text = ""
            if text:
                return int(text)
        return self.clock_offset_ms

    def clock(self) -> int:
        """Epoch milliseconds as this server's (shifted) clock reads them."""
        return time.time_ns() // 1_000_000 + self.offset_ms()

    @property
    def drops_if_match(self) -> bool:
        return self.no_etag or self.ignore_if_match

    @property
    def rewrites(self) -> bool:
        """Whether any quirk acts on requests or answers (the clock acts in the store)."""
        return self.drops_if_match or self.patch_resets_state or self.like_names \
            or bool(self.failures)


def _bad(message: str) -> InvalidInputError:
    return InvalidInputError(ENV, f"{message}; see docs/sync.md (Quirks of real servers)")


def parse(text: str) -> Quirks:
    """The quirks named in ``text`` (``InvalidInputError`` for an unknown or malformed item)."""
    flags: dict[str, Any] = {}
    failures: list[Failure] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if key in _FLAGS and not sep:
            flags[key.replace("-", "_")] = True
        elif key == "clock-offset" and sep:
            try:
                flags["clock_offset_ms"] = int(value)
            except ValueError:
                raise _bad(f"clock-offset={value!r} is not an integer of milliseconds") \
                    from None
        elif key == "clock-file" and value:
            flags["clock_file"] = Path(value)
        elif key == "fail" and value:
            method, _, rest = value.partition(":")
            path, _, name = rest.partition(":name=")
            if not method or not path.startswith(("/", "*")):
                raise _bad(f"fail={value!r} is not METHOD:PATH[:name=GLOB]")
            failures.append(Failure(method, path, name or None))
        else:
            raise _bad(f"unknown quirk {item!r} (known: {', '.join(_FLAGS)}, clock-offset=MS, "
                       "clock-file=PATH, fail=METHOD:PATH[:name=GLOB])")
    quirks = Quirks(failures=tuple(failures), **flags)
    try:
        quirks.offset_ms()
    except ValueError:
        raise _bad(f"clock file {quirks.clock_file} does not hold an integer") from None
    return quirks


def quirks_from_env(environ: Mapping[str, str] | None = None) -> Quirks | None:
    """The quirks the environment asks for, or None (the default: a faithful server)."""
    text = (os.environ if environ is None else environ).get(ENV, "")
    if not text.strip():
        return None
    return parse(text)


def _api_path(path: str) -> str | None:
    """The path after the API prefix (with its leading slash), or None outside the API."""
    for prefix in _API_PREFIXES:
        if path.startswith(prefix):
            return path[len(prefix) - 1:]
    return None


class QuirksMiddleware:
    """Pure-ASGI middleware applying :class:`Quirks` to requests and answers."""

    def __init__(self, app: ASGIApp, quirks: Quirks, store: SQLiteStore) -> None:
        self.app = app
        self.quirks = quirks
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _api_path(scope["path"]) is None:
            await self.app(scope, receive, send)
            return
        body, receive = await self._body(receive)
        method, path = scope["method"], scope["path"]
        if self.quirks.failures and self._fails(method, path, scope, body):
            await self._answer_500(send, method, path)
            return
        if self.quirks.drops_if_match:
            scope["headers"] = [(k, v) for k, v in scope.get("headers", [])
                                if k.lower() != b"if-match"]
        if self.quirks.patch_resets_state and method == "PATCH":
            body = self._default_state(scope, body)
            receive = _replay(body, receive)
        if self.quirks.like_names and method == "GET" and scope.get("query_string"):
            await self._like_lookup(scope)
        await self.app(scope, receive, self._strip_etag(send) if self.quirks.no_etag else send)

    @staticmethod
    async def _body(receive: Receive) -> tuple[bytes, Receive]:
        """The whole request body, and a ``receive`` that hands it on unchanged."""
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # A disconnect: let the app see it.
                return b"", _prepend(message, receive)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        return body, _replay(body, receive)

    def _fails(self, method: str, path: str, scope: Scope, body: bytes) -> bool:
        name = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("name")
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and isinstance(parsed.get("name"), str):
                name = parsed["name"]
        return any(f.matches(method, path, name) for f in self.quirks.failures)

    @staticmethod
    async def _answer_500(send: Send, method: str, path: str) -> None:
        data = json.dumps({"code": "Internal Server Error",
                           "message": f"emulated failure of {method} {path}: internal server "
                                      "error"}).encode()
        await send({"type": "http.response.start", "status": 500,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    @staticmethod
    def _default_state(scope: Scope, body: bytes) -> bytes:
        """The PATCH body with the Go server's default ``state`` added when it has none."""
        api = _api_path(scope["path"]) or ""
        prefix, _, entity_id = api.rpartition("/")
        default = _STATE_DEFAULTS.get(prefix + "/")
        if default is None or not entity_id.isdigit():
            return body
        try:
            parsed = json.loads(body)
        except ValueError:
            return body  # the route answers the malformed body as usual
        if not isinstance(parsed, dict) or parsed.get("state") is not None:
            return body
        parsed["state"] = default
        out = json.dumps(parsed).encode()
        scope["headers"] = [(k, v) for k, v in scope.get("headers", [])
                            if k.lower() != b"content-length"]
        scope["headers"].append((b"content-length", str(len(out)).encode()))
        return out

    async def _like_lookup(self, scope: Scope) -> None:
        """Rewrite a find-one ``name`` to the name of the first entity it LIKE-matches."""
        # starlette (the server extra) is imported here: ``localhub serve`` reads the quirks
        # before it checks that the extra is installed
        from starlette.concurrency import run_in_threadpool

        target = _find_target(_api_path(scope["path"]) or "")
        if target is None:
            return
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        args = dict(query)
        name, parent = args.get("name"), args.get("parentResourceId")
        cls, child = target
        if not name or (child and not parent) or (parent and not parent.isdigit()):
            return
        found = await run_in_threadpool(self._first_like, cls, name,
                                        parent if child else None, args.get("externalId"))
        if found is not None and found != name:
            rewritten = [(k, found if k == "name" else v) for k, v in query]
            scope["query_string"] = urlencode(rewritten).encode("latin-1")

    def _first_like(self, cls: type[BaseResource], name: str, parent: str | None,
                    external_id: str | None) -> str | None:
        clauses = [f"name LIKE {quote(name)}"]
        if external_id:
            clauses.append(f"externalId = {quote(external_id)}")
        try:
            page = self.store.list_page(cls, parent_id=parent, filter_query=" AND ".join(clauses),
                                   order_by="ID", sort_order="ASC", page_size=1)
        except Exception:  # noqa: BLE001  (a name the filter refuses: the route answers)
            return None
        return getattr(page.items[0], "name", None) if page.items else None

    @staticmethod
    def _strip_etag(send: Send) -> Send:
        async def send_without_etag(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v) for k, v in message.get("headers", [])
                                      if k.lower() != b"etag"]
            await send(message)

        return send_without_etag


def _find_target(api_path: str) -> tuple[type[BaseResource], bool] | None:
    """(entity class, whether a parent is needed) for a find-one path."""
    targets: dict[str, tuple[type[BaseResource], bool]] = {
        "/registered_model": (RegisteredModel, False),
        "/serving_environment": (ServingEnvironment, False),
        "/model_version": (ModelVersion, True),
        "/model_artifact": (ModelArtifact, True),
        "/artifact": (Artifact, True),
        "/inference_service": (InferenceService, True),
    }
    return targets.get(api_path)


def _replay(body: bytes, receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _prepend(message: Message, receive: Receive) -> Receive:
    pending = [message]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
