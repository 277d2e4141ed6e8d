"""What a remote Model Registry's answers mean: every failure of a request translated, once,
into the :class:`~localhub.errors.RemoteError` family, and the shape of an entity checked
before it is decoded. :class:`localhub.rest_client.RemoteRegistry` calls these."""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import TYPE_CHECKING, Any

from .credentials import redact_text
from .errors import (
    RemoteAuthError,
    RemoteCertificateError,
    RemoteConflictError,
    RemoteError,
    RemoteNotFoundError,
    RemotePreconditionError,
    RemoteProtocolError,
    RemoteRejectedError,
    RemoteUnavailableError,
    RemoteUnreachableError,
)
from .types import Artifact, BaseResource, ModelVersion, RegisteredModel, ServingEnvironment

if TYPE_CHECKING:  # requests is imported when a request fails, not on import
    import requests

__all__ = ["ENTITY_LABELS", "connection_reason", "decode_body", "entity_problem",
           "not_json_error", "retry_after", "status_error", "transport_error",
           "unreachable_reason"]


#: The OS's words for why a connection failed, inside urllib3's nested messages.
_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
#: The resolver's ways of saying a host name does not resolve (glibc, musl, macOS).
_DNS_WORDS = ("name or service not known", "name resolution", "nodename nor servname",
              "no address associated", "name does not resolve")
#: Where the texts of :func:`transport_error` and :func:`status_error` hold their reason.
_REASON_IN_TEXT = (re.compile(r"cannot reach the remote \(([^)]*)\)"),
                   re.compile(r": (timed out)"), re.compile(r": (HTTP \d{3})"))


def unreachable_reason(text: str) -> str:
    """The few words of why a remote did not answer ("connection refused", "timed out",
    "HTTP 503"), found in the text of an unreachable or unavailable error."""
    for pattern in _REASON_IN_TEXT:
        found = pattern.search(text)
        if found:
            return found.group(1)
    return "no answer"


def connection_reason(exc: requests.ConnectionError) -> str:
    """Why a connection failed, in a few words ("connection refused"), not urllib3's
    nested pool messages (which repeat the URL and may carry its query)."""
    text = str(exc)
    found = _ERRNO_REASON.search(text)
    if found:
        words = found.group(1).strip().rstrip(".").lower()
        return "DNS lookup failed" if any(w in words for w in _DNS_WORDS) else words
    for marker, words in (("RemoteDisconnected", "the remote closed the connection"),
                          ("Connection aborted", "the connection was aborted"),
                          ("reset by peer", "connection reset by the remote"),
                          ("timed out", "timed out")):
        if marker in text:
            return words
    return "connection failed"


ENTITY_LABELS = {RegisteredModel: "registered model", ModelVersion: "model version",
                 ServingEnvironment: "serving environment"}


def entity_problem(cls: type[BaseResource], data: Any) -> str | None:
    """Why ``data`` cannot be an entity of type ``cls`` as the server returns it, or None."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    if not isinstance(data.get("id"), str) or not data["id"]:
        return "no id"
    name = data.get("name")
    if issubclass(cls, Artifact):
        kind = data.get("artifactType")
        if cls is not Artifact and kind != cls.kind:
            return f"artifactType {kind!r}, not {cls.kind!r}"
        if name is not None and not isinstance(name, str):
            return "a name that is not a string"
        return None
    if not isinstance(name, str) or not name:
        return "no name"
    if "artifactType" in data:
        return f"an artifact ({data['artifactType']!r})"
    if (cls is ModelVersion) != ("registeredModelId" in data):
        return "a model version" if "registeredModelId" in data else "no registeredModelId"
    return None


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_TLS_REASON = re.compile(r"(certificate verify failed[^'\")\]]*|hostname mismatch[^'\")\]]*)")


def _tls_reason(text: str) -> str:
    """The verifier's own words ("certificate verify failed: self-signed certificate"),
    not the connection pool's wrapping around them."""
    found = _TLS_REASON.search(text)
    return found.group(1).strip().rstrip(".") if found else "TLS handshake failed"


def transport_error(method: str, shown: str, exc: requests.RequestException,
                    base_url: str) -> RemoteError:
    """The RemoteError of a request that got no answer (TLS, timeout, connection), its text
    with the URL's credentials redacted."""
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        reason = _tls_reason(redact_text(str(exc), base_url))
        error: RemoteError = RemoteCertificateError(
            f"{method} {shown}: the TLS certificate of the remote could not be verified "
            f"({reason}); give the CA that signed it with `localhub remote add NAME URL --ca "
            "PATH` (custom_ca= in Python)", url=shown)
    elif isinstance(exc, requests.Timeout):
        reason = "timed out"
        error = RemoteUnreachableError(f"{method} {shown}: timed out", url=shown)
    elif isinstance(exc, requests.ConnectionError):
        reason = connection_reason(exc)
        error = RemoteUnreachableError(f"{method} {shown}: cannot reach the remote ({reason})",
                                       url=shown)
    else:
        reason = "no answer"
        error = RemoteUnreachableError(f"{method} {shown}: {redact_text(str(exc), base_url)}",
                                       url=shown)
    error.reason = reason
    return error


def not_json_error(method: str, url: str, resp: requests.Response, text: str
                   ) -> RemoteProtocolError:
    """The error for a 2xx answer that is not JSON (a login page, a proxy)."""
    kind = resp.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    hint = (" (an HTML page: a login page or a proxy in front of the registry?)"
            if "html" in kind or text.lstrip()[:1] == "<" else "")
    return RemoteProtocolError(
        f"{method} {url}: the remote answered HTTP {resp.status_code} with {kind}, not "
        f"JSON{hint}; check that the URL is the Model Registry's base URL and that the "
        "token is valid", status=resp.status_code, url=url, body=text[:500])


def decode_body(resp: requests.Response) -> tuple[Any, bool]:
    """The answer's body: (decoded JSON, True), or (its text or None, False)."""
    text = resp.text
    if not text:
        return None, False
    try:
        return json.loads(text), True
    except ValueError:
        return text, False


def status_error(method: str, url: str, resp: requests.Response, data: Any) -> RemoteError:
    """The RemoteError of a non-2xx answer, by its HTTP status."""
    status = resp.status_code
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        detail = data["message"]
    elif isinstance(data, str) and data.strip():
        detail = data.strip()[:500]
    else:
        detail = resp.reason or f"HTTP {status}"
    where = f"{method} {url}"
    kwargs: dict[str, Any] = {"status": status, "url": url, "body": data}
    if status in (401, 403):
        return RemoteAuthError(
            f"{where}: HTTP {status} {detail}. The remote refused the credentials: pass a "
            "valid bearer token (ModelRegistryClient(user_token=...) or sync(token=...)) "
            "that may read and write the Model Registry", **kwargs)
    if status in (400, 422):
        return RemoteRejectedError(f"{where}: HTTP {status}: {detail}", **kwargs)
    if status == 404:
        return RemoteNotFoundError(f"{where}: HTTP 404: {detail}", **kwargs)
    if status == 409:
        return RemoteConflictError(f"{where}: HTTP 409: {detail}", **kwargs)
    if status == 412:
        return RemotePreconditionError(f"{where}: HTTP 412: {detail}", **kwargs)
    if status in (408, 429) or status >= 500:
        return RemoteUnavailableError(
            f"{where}: HTTP {status}: {detail}",
            retry_after=retry_after(resp.headers.get("Retry-After")), **kwargs)
    return RemoteError(f"{where}: HTTP {status}: {detail}", **kwargs)
