"""Remote URLs as the user gives them: checked, and reduced to scheme, host and port.

Every place a remote URL enters (``localhub remote add``, ``sync --remote URL``, the config
file, ``ModelRegistryClient(base_url=...)``, ``sync(remote=...)``) goes through here, so that
``http://h/api/model_registry/v1`` and ``http://h/`` name the same remote: the client adds
the API path itself, and a doubled path would turn every request into a 404.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["API_SUFFIXES", "EXPECTED_FORM", "looks_like_url", "normalize_remote_url",
           "not_a_url", "strip_api_path"]

#: API paths a user may paste with the server address (longest first).
API_SUFFIXES = ("/api/model_registry/v1alpha3", "/api/model_registry/v1alpha2",
                "/api/model_registry/v1alpha1", "/api/model_registry/v1",
                "/api/model_registry")
EXPECTED_FORM = "http(s)://host[:port]"
_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d+$")
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def not_a_url(text: str, why: str = "") -> str:
    """The one wording of a bad remote URL, with the expected form and a likely fix."""
    hint = ""
    if "://" not in text and _HOST_PORT.match(text):
        hint = f" (did you mean http://{text}?)"
    detail = f" ({why})" if why else ""
    return (f"{text!r} is not a URL{detail}; expected {EXPECTED_FORM}{hint}, e.g. "
            "https://registry.example.com")


def looks_like_url(text: str) -> bool:
    """Whether ``text`` was meant as a URL rather than a remote name (names have no ':' or
    '/')."""
    return "://" in text or not _REMOTE_NAME.match(text)


def strip_api_path(url: str) -> str:
    """``url`` without trailing '/' and without a known Model Registry API path at its end."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    for suffix in API_SUFFIXES:
        if path.lower().endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
            break
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def normalize_remote_url(url: str) -> str:
    """The remote's base URL: an http(s) URL with a host, without a trailing '/' or API path.

    Raises ValueError (with the :func:`not_a_url` wording) for anything else.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError as exc:
        raise ValueError(not_a_url(url, str(exc))) from None
    if any(ch.isspace() for ch in parts.netloc):
        raise ValueError(not_a_url(url, "the host contains white space"))
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(not_a_url(url))
    return strip_api_path(text)
