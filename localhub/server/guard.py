"""Request checks that run before any route: Host, Origin, content type and body size.

A web page in the user's browser can send requests to a loopback server: a "simple" POST
(``text/plain``, a form) needs no CORS preflight, and a DNS-rebinding name makes the page
same-origin with the server. These checks refuse both, and bound what one request may cost.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_MAX_BODY",
    "BODY_IDLE_TIMEOUT",
    "BODY_TIMEOUT",
    "HostPolicy",
    "BodyRefused",
    "cross_origin",
    "declared_too_large",
    "escape_for_log",
    "header",
    "needs_json",
    "read_body",
]

#: Default largest request body (``serve --max-body``): a few MiB, far above any entity.
DEFAULT_MAX_BODY = 4 * 1024 * 1024
#: A body that stalls this long between two chunks is dropped (slow-body clients).
BODY_IDLE_TIMEOUT = 10.0
#: A body must arrive within this many seconds in all.
BODY_TIMEOUT = 60.0

_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WILDCARD = frozenset({"0.0.0.0", "::", ""})
_LOG_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\\\\]")

Message = MutableMapping[str, Any]


def header(scope: MutableMapping[str, Any], name: bytes) -> bytes | None:
    """The last value of request header ``name`` (lower case), or None."""
    found = None
    for key, value in scope.get("headers", []):
        if key == name:
            found = value
    return found


def escape_for_log(text: str) -> str:
    """``text`` with control characters and backslashes escaped: one request, one log line."""
    return _LOG_UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _split_host(value: str) -> str:
    """The host part of a Host header value (``[::1]:8080`` -> ``[::1]``), lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[:end + 1] if end > 0 else value
    name, _, port = value.rpartition(":")
    host = name if name and port.isdigit() else value
    return host[:-1] if host.endswith(".") else host


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


@dataclass
class HostPolicy:
    """Which ``Host`` header values name this server (DNS-rebinding defence)."""

    bound: str = "127.0.0.1"
    extra: Iterable[str] = ()
    names: frozenset[str] = field(init=False)
    any_address: bool = field(init=False)

    def __post_init__(self) -> None:
        bound = self.bound.strip().lower()
        names = {"localhost", "127.0.0.1", "[::1]", _bracketed(bound)}
        names.update(_split_host(name) for name in self.extra if name.strip())
        self.names = frozenset(names)
        # Bound to every address: any IP literal names this server. A rebinding attack needs
        # a DNS name, so IP literals are safe to accept; other names need --allow-host.
        self.any_address = bound.strip("[]") in _WILDCARD

    def allows(self, value: bytes | None) -> bool:
        """Whether a Host header names this server (no header: HTTP/1.0, not a browser)."""
        if value is None:
            return True
        try:
            host = _split_host(value.decode("ascii"))
        except UnicodeDecodeError:
            return False
        if host in self.names:
            return True
        if not self.any_address:
            return False
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return True


def cross_origin(scope: MutableMapping[str, Any]) -> str | None:
    """Why a state-changing request comes from another site, or None when it does not.

    Clients that send neither ``Origin`` nor ``Sec-Fetch-Site`` (the official clients, curl,
    the sync engine) are not browsers acting for a page, and pass.
    """
    if scope["method"] not in _STATE_CHANGING:
        return None
    site = header(scope, b"sec-fetch-site")
    if site is not None and site.strip().lower() in (b"cross-site", b"same-site"):
        return f"Sec-Fetch-Site: {site.decode('latin-1')[:20]}"
    origin = header(scope, b"origin")
    if origin is None:
        return None
    host = header(scope, b"host") or b""
    own = f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}".lower()
    if origin.decode("latin-1").strip().lower() != own:
        return f"Origin {origin.decode('latin-1')[:80]!r}"
    return None


def _has_body(scope: MutableMapping[str, Any]) -> bool:
    length = header(scope, b"content-length")
    if header(scope, b"transfer-encoding") is not None:
        return True
    return length is not None and length.strip() not in (b"0", b"")


def needs_json(scope: MutableMapping[str, Any]) -> bool:
    """Whether a REST API request carries a body that is not ``application/json``."""
    if not scope["path"].startswith("/api/") or not _has_body(scope):
        return False
    kind = (header(scope, b"content-type") or b"").split(b";", 1)[0].strip().lower()
    return kind != b"application/json"


class BodyRefused(Exception):
    """A request body that is too large (413) or too slow (408)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def declared_too_large(scope: MutableMapping[str, Any], limit: int) -> bool:
    """Whether ``Content-Length`` already exceeds ``limit`` (checked before reading)."""
    length = header(scope, b"content-length")
    if length is None:
        return False
    text = length.strip()
    return text.isdigit() and (len(text) > 18 or int(text) > limit)


async def read_body(receive: Any, limit: int, *, idle: float = BODY_IDLE_TIMEOUT,
                    total: float = BODY_TIMEOUT) -> bytes | None:
    """The whole body, at most ``limit`` bytes (None when the client went away).

    Counts while streaming, so a chunked body is refused as soon as it passes ``limit``.
    """
    parts: list[bytes] = []
    size = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + total
    while True:
        wait = min(idle, deadline - loop.time())
        try:
            message: Message = await asyncio.wait_for(receive(), timeout=max(wait, 0.001))
        except TimeoutError:
            raise BodyRefused(408, "request body too slow: send the whole body within "
                                   f"{total:.0f} s, pausing at most {idle:.0f} s") from None
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyRefused(413, f"request body larger than {limit} bytes; "
                                   "raise the limit with serve --max-body")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)
