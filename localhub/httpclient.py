"""The one HTTP session every remote call goes through (sync, ``status``, ``doctor``).

Two rules on top of ``requests.Session``:

* ``Authorization`` never follows a redirect to another origin (scheme, host and port must all
  match; ``requests`` alone keeps it on an http -> https upgrade and re-adds ``.netrc``
  credentials).
* The TLS verification given here wins over ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``
  (``requests`` lets those variables replace a session's ``verify``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = ["RemoteSession", "make_session", "origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


class RemoteSession(requests.Session):
    """A ``requests.Session`` with localhub's redirect and TLS-verification rules."""

    def should_strip_auth(self, old_url: str, new_url: str) -> bool:
        return origin(old_url) != origin(new_url)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest,
                     response: requests.Response) -> None:
        # Same origin: keep the header; another origin: drop it and add nothing back
        # (the base class would look the new host up in ~/.netrc).
        headers = prepared_request.headers
        if "Authorization" in headers and self.should_strip_auth(
                str(response.request.url or ""), str(prepared_request.url or "")):
            del headers["Authorization"]

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and self.verify is not True:
            settings["verify"] = self.verify  # the configured CA (or False) wins
        return settings


def make_session(*, token: str | None = None, verify: bool | str = True) -> RemoteSession:
    """A session sending ``token`` as a bearer token to its own origin only."""
    session = RemoteSession()
    session.verify = verify
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    session.headers.setdefault("Accept", "application/json")
    return session
