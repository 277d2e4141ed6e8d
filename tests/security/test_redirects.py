"""Item 5: the token never follows a redirect to another origin (doctor, status, sync)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from localhub.errors import RemoteError
from localhub.rest_client import RemoteRegistry

from tests.support.cli import Invoke
from tests.support.stubs import Stub


def _auth_seen(stub: Stub) -> list[object]:
    return [r["headers"].get("Authorization")  # type: ignore[attr-defined]
            for r in stub.requests()]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_doctor_and_status_do_not_forward_the_token(
        invoke: Invoke, stubs: Callable[..., Stub], monkeypatch: pytest.MonkeyPatch,
        host: str) -> None:
    """doctor and status follow a redirect to another port or host without Authorization."""
    target = stubs("list", host=host)
    redirector = stubs("redirect", target.url)
    monkeypatch.setenv("REG_TOKEN", "s3cret-token")
    invoke("remote", "add", "r", redirector.url, "--token-env", "REG_TOKEN")
    doctor = invoke("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["remote.r"]["status"] == "OK", checks
    invoke("register", "m", "s3://b/m", "--version", "1")
    status = invoke("status", "--json")
    assert json.loads(status.stdout)["remote"]["reachable"] is True
    assert _auth_seen(redirector) == ["Bearer s3cret-token"] * 2
    assert len(target.requests()) == 2 and _auth_seen(target) == [None, None]


def test_sync_client_drops_the_token_on_a_cross_origin_redirect(
        stubs: Callable[..., Stub]) -> None:
    """The sync client (RemoteRegistry) sends no token to the redirect target."""
    target = stubs("list")
    redirector = stubs("redirect", target.url)
    client = RemoteRegistry(redirector.url, token="s3cret-token")
    try:
        client.request("GET", "/registered_models")
    finally:
        client.close()
    assert _auth_seen(redirector) == ["Bearer s3cret-token"]
    assert _auth_seen(target) == [None]


@pytest.mark.parametrize(("old", "new", "strip"), [
    ("https://reg.example/a", "https://reg.example:443/b", False),
    ("https://reg.example/a", "http://reg.example/b", True),
    ("http://reg.example/a", "https://reg.example/b", True),
    ("https://reg.example/a", "https://reg.example:8443/b", True),
    ("https://reg.example/a", "https://REG.example/b", False),
    ("https://reg.example/a", "https://evil.example/b", True),
])
def test_only_the_same_origin_keeps_the_token(old: str, new: str, strip: bool) -> None:
    """Scheme, host and port must all match for Authorization to follow a redirect."""
    from localhub.httpclient import make_session

    with make_session(token="t") as session:
        assert session.should_strip_auth(old, new) is strip


def test_redirect_to_a_login_page_is_a_remote_error(stubs: Callable[..., Stub]) -> None:
    """A redirect to an origin that answers HTML is a remote error, not a traceback."""
    page = stubs("html")
    redirector = stubs("redirect", page.url)
    client = RemoteRegistry(redirector.url, token="t0ken")
    try:
        with pytest.raises(RemoteError, match="not JSON"):
            client.request("GET", "/registered_models")
    finally:
        client.close()
    assert _auth_seen(page) == [None]
