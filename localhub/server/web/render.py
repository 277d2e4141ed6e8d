"""Templates, value formatting and the HTML response (security headers, CSRF cookie)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from localhub.property_text import parse_property_value as parse_meta_value

from ...types import StructValue
from .security import CSRF_COOKIE, SESSION_COOKIE, Secrets, cookie_header

__all__ = ["Renderer", "format_meta_value", "parse_props_text", "props_text", "when"]

HERE = Path(__file__).parent
#: Scripts and styles from this server only; no inline script, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def when(epoch_ms: Any) -> str:
    """Epoch milliseconds (as text or int) as a UTC date and time; '' when unknown."""
    try:
        stamp = dt.datetime.fromtimestamp(int(epoch_ms) / 1000, dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def iso(epoch_ms: Any) -> str:
    """Epoch milliseconds as an ISO 8601 UTC timestamp (for ``<time datetime>``)."""
    try:
        stamp = dt.datetime.fromtimestamp(int(epoch_ms) / 1000, dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def format_meta_value(value: Any) -> str:
    """A property value as ``localhub update --meta`` would take it (round-trips)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    parsed = parse_meta_value(text)
    if type(parsed) is str and parsed == text:
        return text
    return f'"{text}"'


def props_text(props: Mapping[str, Any] | None) -> str:
    """Custom properties as ``key=value`` lines for the edit box."""
    return "\n".join(f"{k}={format_meta_value(v)}" for k, v in sorted((props or {}).items()))


def parse_props_text(text: str, old: Mapping[str, Any] | None) -> dict[str, Any]:
    """The edit box's ``key=value`` lines as typed properties (a line left as shown keeps its
    stored value and type). ValueError names a line without '='."""
    old = dict(old or {})
    out: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, raw = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"line {number} ({line[:40]!r}) is not key=value")
        if key in old and format_meta_value(old[key]) == raw:
            out[key] = old[key]
        else:
            out[key] = parse_meta_value(raw)
    return out


def _path(name: str) -> str:
    return quote(name, safe="")


class Renderer:
    """Renders a template into a page with the headers every page carries."""

    def __init__(self, keys: Secrets, token_required: bool) -> None:
        self.keys = keys
        self.token_required = token_required
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters["when"] = when
        self.env.filters["iso"] = iso
        self.env.filters["path"] = _path
        self.env.filters["meta"] = format_meta_value
        self.env.globals["is_struct"] = lambda v: isinstance(v, StructValue)

    def page(self, request: Request, template: str, *, status: int = 200,
             headers: Mapping[str, str] | None = None, **context: Any) -> HTMLResponse:
        cookie = request.cookies.get(CSRF_COOKIE)
        fresh = not cookie or len(cookie) > 100
        if fresh:
            cookie = secrets.token_urlsafe(24)
        assert cookie is not None
        html = self.env.get_template(template).render(
            csrf=self.keys.csrf_token(cookie), path=request.url.path,
            logged_in=self.token_required and bool(request.cookies.get(SESSION_COOKIE)),
            **context)
        response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
        secure_headers(response)
        if fresh:
            response.headers.append("set-cookie", cookie_header(
                CSRF_COOKIE, cookie, secure=request.url.scheme == "https"))
        return response


def secure_headers(response: Any) -> None:
    """Headers every page carries: CSP, no sniffing, no caching, no referrer elsewhere."""
    response.headers["content-security-policy"] = CSP
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["referrer-policy"] = "same-origin"
    response.headers["cache-control"] = "no-store"
    response.headers["x-frame-options"] = "DENY"
