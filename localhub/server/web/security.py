"""The web page's own protections: login cookie, CSRF token and same-origin check.

The REST API is guarded by the bearer token in the ``Authorization`` header (``Gate``). A
browser cannot send that header with a link or a form, so the web pages use a session cookie
set by the login form instead; :class:`WebAuth` (outside ``Gate``) checks it for every
non-API path and then hands the request on as authenticated. The REST API keeps requiring the
header: the cookie opens the web pages only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "Secrets", "WebAuth", "cookie_header",
           "read_cookies", "same_origin"]

SESSION_COOKIE = "localhub_session"
CSRF_COOKIE = "localhub_csrf"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths reachable without logging in (the login form itself and its style sheet).
_PUBLIC = ("/login", "/static/")


class Secrets:
    """A per-process signing key: sessions and CSRF tokens end when ``serve`` restarts."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def sign(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def new_session(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self.sign('session', nonce)}"

    def session_ok(self, value: str | None) -> bool:
        if not value or "." not in value:
            return False
        nonce, _, mac = value.partition(".")
        return hmac.compare_digest(mac, self.sign("session", nonce))

    def csrf_token(self, cookie: str) -> str:
        """The form token that goes with the CSRF cookie (double submit, signed)."""
        return self.sign("csrf", cookie)

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(cookie))


def read_cookies(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request's cookies by name."""
    out: dict[str, str] = {}
    for name, value in headers:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header means no cookies
                continue
            out.update({key: morsel.value for key, morsel in jar.items()})
    return out


def cookie_header(name: str, value: str, *, secure: bool, max_age: int | None = None) -> str:
    """A ``Set-Cookie`` value: HttpOnly, SameSite=Strict, whole site."""
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def same_origin(headers: dict[str, str], scheme: str) -> bool:
    """Whether a state-changing request comes from this site's own pages.

    ``Origin`` must name this host; without it, ``Sec-Fetch-Site`` must say same-origin (or
    none: typed by the user). A client sending neither is not a browser, and the CSRF token
    still has to match.
    """
    host = headers.get("host", "")
    origin = headers.get("origin")
    if origin is not None:
        return origin != "null" and origin.rstrip("/") == f"{scheme}://{host}"
    site = headers.get("sec-fetch-site")
    return site is None or site in ("same-origin", "none")


class WebAuth:
    """Pure-ASGI middleware in front of ``Gate`` for the web pages (every path outside
    ``/api/`` and the health checks).

    With a token configured, a page needs the session cookie from the login form: a GET
    without it is sent to ``/login``, anything else gets 401. An authenticated (or public)
    page request is passed on with the bearer credential added, so that ``Gate`` (host,
    origin and size checks, the access log) stays the one door of the process.
    """

    def __init__(self, app: ASGIApp, token: str | None, keys: Secrets) -> None:
        self.app = app
        self.token = token
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (scope["type"] != "http" or self.token is None or path.startswith("/api/")
                or path.startswith("/readyz/")):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers", []))
        public = path == "/login" or any(path.startswith(p) for p in _PUBLIC[1:])
        if not public and not self.keys.session_ok(read_cookies(headers).get(SESSION_COOKIE)):
            await _refuse(scope, send)
            return
        headers = [(k, v) for k, v in headers if k != b"authorization"]
        headers.append((b"authorization", f"Bearer {self.token}".encode()))
        await self.app({**scope, "headers": headers}, receive, send)


async def _refuse(scope: Scope, send: Send) -> None:
    """Send a GET to the login form; refuse anything else."""
    if scope["method"] in ("GET", "HEAD"):
        target = scope.get("path", "/")
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            target += "?" + query
        location = "/login?next=" + quote(target, safe="")
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode()),
                                (b"content-length", b"0"), (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": b""})
        return
    body = b"error: not logged in; open /login and enter the server's token\n"
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
