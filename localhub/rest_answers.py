"""What a remote Model Registry's answers mean: every failure of a request translated, once,
into the :class:`~localhub.errors.RemoteError` family, and the shape of an entity checked
before it is decoded. :class:`localhub.rest_client.RemoteRegistry` calls these."""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import TYPE_CHECKING, Any

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
           "not_json_error", "retry_after", "status_error", "transport_error"]


#: The OS's words for why a connection failed, inside urllib3's nested messages.
_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def connection_reason(exc: requests.ConnectionError) -> str:
    """Why a connection failed, in a few words ("connection refused"), not urllib3's
    nested pool messages (which repeat the URL and may carry its query)."""
    text = str(exc)
    found = _ERRNO_REASON.search(text)
    if found:
        return found.group(1).strip().rstrip(".").lower()
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


def transport_error(method: str, shown: str, exc: requests.RequestException,
                    base_url: str) -> RemoteError:
    """The RemoteError of a request that got no answer (TLS, timeout, connection), its text
    with the URL's credentials redacted."""
    import requests

    from .credentials import redact_text

    if isinstance(exc, requests.exceptions.SSLError):
        return RemoteCertificateError(
            f"{method} {shown}: the TLS certificate of the remote could not be verified "
            f"({redact_text(str(exc), base_url)}); give the CA that signed it with `localhub "
            "remote add NAME URL --ca PATH` (custom_ca= in Python)", url=shown)
    if isinstance(exc, requests.Timeout):
        return RemoteUnreachableError(f"{method} {shown}: timed out", url=shown)
    if isinstance(exc, requests.ConnectionError):
        return RemoteUnreachableError(f"{method} {shown}: cannot reach the remote "
                                      f"({connection_reason(exc)})", url=shown)
    return RemoteUnreachableError(f"{method} {shown}: {redact_text(str(exc), base_url)}",
                                  url=shown)


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
