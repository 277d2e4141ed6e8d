"""Item 8: the configured CA wins over the environment; a certificate failure is its own error."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from localhub.errors import RemoteCertificateError, RemoteUnreachableError
from localhub.rest_client import RemoteRegistry

from tests.support.cli import Invoke
from tests.support.stubs import Stub, Tls


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_configured_ca_wins_over_the_environment(
        stubs: Callable[..., Stub], tls: Tls, monkeypatch: pytest.MonkeyPatch,
        variable: str) -> None:
    """verify=CA is used even when the environment names another CA bundle."""
    server = stubs("list", tls=(tls.cert, tls.key))
    monkeypatch.setenv(variable, str(tls.other_ca))
    client = RemoteRegistry(server.url, verify=str(tls.ca))
    try:
        data, _ = client.request("GET", "/registered_models")
    finally:
        client.close()
    assert data["items"] == []
    wrong = RemoteRegistry(server.url, verify=str(tls.other_ca))
    monkeypatch.setenv(variable, str(tls.ca))  # the environment cannot rescue a wrong CA
    try:
        with pytest.raises(RemoteCertificateError, match="--ca"):
            wrong.request("GET", "/registered_models")
    finally:
        wrong.close()


def test_certificate_failure_is_not_unreachable(stubs: Callable[..., Stub], tls: Tls) -> None:
    """An untrusted certificate raises RemoteCertificateError, not a retryable outage."""
    server = stubs("list", tls=(tls.cert, tls.key))
    client = RemoteRegistry(server.url)
    try:
        with pytest.raises(RemoteCertificateError) as caught:
            client.request("GET", "/registered_models")
    finally:
        client.close()
    assert not isinstance(caught.value, RemoteUnreachableError)
    assert not caught.value.retryable


def test_cli_certificate_failure_exit_1_with_hint(
        invoke: Invoke, stubs: Callable[..., Stub], tls: Tls,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """sync exits 1 naming --ca (not 4, "unreachable"); doctor fails; with --ca both pass."""
    server = stubs("list", tls=(tls.cert, tls.key))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))  # must not override the config
    invoke("remote", "add", "tls", server.url, "--ca", str(tls.other_ca))
    invoke("register", "m", "s3://b/m", "--version", "1")
    result = invoke("sync")
    assert result.exit_code == 1, result.output
    assert "--ca" in result.stderr and "unreachable" not in result.stderr
    doctor = invoke("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert doctor.exit_code == 1 and checks["remote.tls"]["status"] == "FAIL"
    assert "--ca" in checks["remote.tls"]["fix"]
    invoke("remote", "add", "tls", server.url, "--ca", str(tls.ca))
    ok = {c["name"]: c for c in json.loads(invoke("doctor", "--json").stdout)}
    assert ok["remote.tls"]["status"] == "OK"
