"""Framework-free request/response plumbing shared by the route modules.

Handlers are plain functions ``(Ctx) -> Reply`` run in a worker thread; they raise
:class:`ApiError` (or a localhub error, mapped by :func:`error_for`) to answer with an error.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

from ..codec import MissingFieldError, UnknownFieldError, WireFormatError, to_json
from ..errors import (
    DatabaseError,
    DatabaseLockedError,
    DuplicateError,
    FilterQueryError,
    InvalidInputError,
    InvalidPageTokenError,
    LocalHubError,
    NotFoundError,
)
from ..store import Page, SQLiteStore
from ..types import BaseResource

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "ApiError",
    "Ctx",
    "Handler",
    "Reply",
    "check_if_match",
    "entity_reply",
    "error_body",
    "error_for",
    "etag",
    "list_options",
    "list_reply",
    "name_filter",
    "parse_id",
    "quote",
    "require",
]

T = TypeVar("T", bound=BaseResource)
_DIGITS = re.compile(r"[0-9]+")
_ORDER_BY = ("ID", "CREATE_TIME", "LAST_UPDATE_TIME")
_SORT_ORDER = ("ASC", "DESC")
#: Items per page when a list request gives no ``pageSize`` (upstream: all of them).
DEFAULT_PAGE_SIZE = 1000


class ApiError(Exception):
    """An HTTP error answer: ``status`` and a message for the ``{code, message}`` body."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 headers: Mapping[str, str] | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        #: A full body replacing the error object (412 returns the current entity).
        self.body = body


def error_body(status: int, message: str, code: str | None = None) -> dict[str, str]:
    """The error object every non-2xx JSON answer carries."""
    return {"code": code or HTTPStatus(status).phrase, "message": message}


def error_for(exc: Exception) -> ApiError:
    """Translate a localhub error into its HTTP answer (500 for anything unexpected)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, MissingFieldError):
        # The Go server answers 422 with the code text of a 400, and its message verbatim.
        return ApiError(422, exc.message, code="Bad Request")
    if isinstance(exc, UnknownFieldError):
        return ApiError(400, exc.message)  # Go's json decoder text, verbatim
    if isinstance(exc, (WireFormatError, InvalidInputError, FilterQueryError,
                        InvalidPageTokenError)):
        return ApiError(400, f"{exc.message}: bad request")
    if isinstance(exc, NotFoundError):
        return ApiError(404, f"{exc.message}: not found")
    if isinstance(exc, DuplicateError):
        return ApiError(409, f"{exc.message}: conflict")
    if isinstance(exc, DatabaseLockedError):
        return ApiError(503, f"{exc.message}: service unavailable")
    if isinstance(exc, (DatabaseError, LocalHubError)):
        return ApiError(500, f"{exc.message}: internal server error")
    return ApiError(500, f"internal server error: {type(exc).__name__}")


@dataclass
class Reply:
    """A JSON answer."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """One request, as the handlers see it."""

    store: SQLiteStore
    #: Path ids keyed by the route's neutral names (``rm``, ``mv``, ``ma``, ``art``, ...).
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    headers: Mapping[str, str]
    #: Serialises read-check-write sequences (If-Match, upserts) inside this server.
    lock: threading.Lock

    def id(self, key: str) -> str:
        """A validated path id."""
        return parse_id(self.params[key], what="id")

    def arg(self, name: str) -> str | None:
        """A query parameter; an empty value counts as absent."""
        value = self.query.get(name)
        return value if value else None

    def json(self) -> Any:
        """The request body parsed as JSON (400 when absent or malformed)."""
        if not self.body.strip():
            raise ApiError(400, "request body is required: bad request")
        try:
            return json.loads(self.body)
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"invalid JSON body: not UTF-8 text (byte "
                                f"{exc.object[exc.start:exc.start + 1]!r} at offset "
                                f"{exc.start}): bad request") from None
        except ValueError as exc:
            raise ApiError(400, f"invalid JSON body: {exc}: bad request") from None
        except RecursionError:
            # json's C parser recurses once per nesting level: a body of 100,000 '[' would
            # otherwise end as a 500.
            raise ApiError(400, "invalid JSON body: nested too deeply: bad request") from None


Handler = Callable[[Ctx], Reply]


def parse_id(raw: str, *, what: str = "id") -> str:
    """A positive int32 id in decimal (400 otherwise)."""
    if not _DIGITS.fullmatch(raw) or len(raw) > 10 or not 0 < int(raw) < 2**31:
        raise ApiError(400, f"invalid {what} {raw[:40]!r}: must be a positive 32-bit integer: "
                            "bad request")
    return str(int(raw))


def etag(entity: BaseResource) -> str:
    """A strong ETag: hash of the entity's canonical JSON (changes whenever any field does)."""
    canonical = json.dumps(to_json(entity), sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def entity_reply(entity: BaseResource, status: int = 200) -> Reply:
    """One entity, with its ETag."""
    return Reply(status, to_json(entity), {"ETag": etag(entity)})


def list_reply(page: Page[Any], ctx: Ctx | None = None) -> Reply:
    """The list envelope of every collection endpoint; ``pageSize`` echoes the request's
    (0 when it gave none, as upstream), not the default applied."""
    items = [to_json(item) for item in page.items]
    echo = page.page_size if ctx is None else requested_page_size(ctx)
    return Reply(200, {"items": items, "nextPageToken": page.next_page_token,
                       "pageSize": echo, "size": len(items)})


def check_if_match(ctx: Ctx, current: BaseResource) -> None:
    """412 with the current entity when ``If-Match`` names none of its ETags."""
    header = ctx.headers.get("if-match")
    if header is None:
        return
    tag = etag(current)
    wanted = [part.strip() for part in header.split(",")]
    if "*" in wanted or any(w.removeprefix("W/") == tag for w in wanted):
        return
    raise ApiError(412, "entity changed since it was read", headers={"ETag": tag},
                   body=to_json(current))


def quote(value: str) -> str:
    """A filterQuery string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def requested_page_size(ctx: Ctx) -> int:
    """The ``pageSize`` the request gave (0 for none or one below 1; 400 when malformed)."""
    size_text = ctx.arg("pageSize")
    if size_text is None:
        return 0
    if not re.fullmatch(r"-?[0-9]{1,10}", size_text) or not -(2**31) <= int(size_text) < 2**31:
        raise ApiError(400, f"invalid pageSize {size_text[:40]!r}: must be a 32-bit "
                            "integer: bad request")
    return max(int(size_text), 0)


def list_options(ctx: Ctx, *, extra_filter: list[str] | None = None) -> dict[str, Any]:
    """``store.list`` keyword arguments from the standard list query parameters.

    Without a ``pageSize`` (or with one below 1) a page holds :data:`DEFAULT_PAGE_SIZE` items
    and ``nextPageToken`` leads on, so one request never materialises a whole large registry.
    """
    page_size = requested_page_size(ctx) or DEFAULT_PAGE_SIZE
    order_by = ctx.arg("orderBy")
    if order_by is not None and order_by not in _ORDER_BY:
        raise ApiError(400, f"invalid orderBy {order_by[:40]!r}: must be one of "
                            f"{', '.join(_ORDER_BY)}: bad request")
    sort_order = ctx.arg("sortOrder")
    if sort_order is not None and sort_order not in _SORT_ORDER:
        raise ApiError(400, f"invalid sortOrder {sort_order[:40]!r}: must be ASC or DESC: "
                            "bad request")
    query = ctx.arg("filterQuery")
    clauses = [query] if query and query.strip() else []
    if extra_filter:
        # Wrapped only when combined, so that error positions match the user's query.
        clauses = [f"({c})" for c in clauses] + list(extra_filter)
    return {"filter_query": " AND ".join(clauses) or None, "order_by": order_by,
            "sort_order": sort_order, "page_size": page_size,
            "page_token": ctx.arg("nextPageToken")}


def name_filter(ctx: Ctx) -> list[str]:
    """``name`` / ``externalId`` query parameters as filter clauses (name wins, as upstream)."""
    name, external_id = ctx.arg("name"), ctx.arg("externalId")
    if name is not None:
        return [f"name = {quote(name)}"]
    if external_id is not None:
        return [f"externalId = {quote(external_id)}"]
    return []


def require(entity: T | None, label: str, key: str) -> T:
    """``entity``, or 404."""
    if entity is None:
        raise ApiError(404, f"no {label} found for id {key}: not found")
    return entity
