"""Item 13: a 2xx answer that is not the expected entity is a remote error, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from localhub.errors import RemoteProtocolError
from localhub.rest_client import RemoteRegistry
from localhub.types import ModelArtifact, ModelVersion, RegisteredModel

from tests.support.cli import Invoke
from tests.support.stubs import Stub

ANSWERS = [
    ("html", ""),
    ("json", '{"id": "1"}'),                                               # no name
    ("json", '{"id": "1", "name": "m", "registeredModelId": "1"}'),        # a version
    ("json", '{"id": "1", "name": "m", "artifactType": "model-artifact"}'),  # an artifact
    ("json", '[1, 2, 3]'),
    ("json", '"a string"'),
    ("json", '{"id": "1", "name": "m", "state": "EXPLODED"}'),
]


@pytest.mark.parametrize(("mode", "body"), ANSWERS)
def test_sync_reports_a_wrong_answer_as_an_error(invoke: Invoke, stubs: Callable[..., Stub],
                                                 mode: str, body: str) -> None:
    """sync against a remote answering 200 with non-entities exits 1 with `error:`."""
    stub = stubs(mode, body)
    invoke("remote", "add", "odd", stub.url)
    invoke("register", "m", "s3://b/m", "--version", "1")
    result = invoke("sync")  # exceptions escape the runner: a traceback fails the test
    assert result.exit_code == 1, result.output
    assert "error:" in result.stderr and "Traceback" not in result.output
    assert invoke("status", "--json").exit_code == 0


@pytest.mark.parametrize(("mode", "body"), [("html", ""), ("json", '"not a list"'),
                                            ("json", '{"items": 3}')])
def test_doctor_fails_on_a_wrong_answer(invoke: Invoke, stubs: Callable[..., Stub],
                                        mode: str, body: str) -> None:
    """doctor marks a remote answering 200 with a login page or a non-list as FAIL."""
    stub = stubs(mode, body)
    invoke("remote", "add", "odd", stub.url)
    result = invoke("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert result.exit_code == 1 and checks["remote.odd"]["status"] == "FAIL"


@pytest.mark.parametrize(("cls", "body", "why"), [
    (RegisteredModel, {"id": "1"}, "no name"),
    (RegisteredModel, {"id": "1", "name": "m", "registeredModelId": "2"}, "a model version"),
    (ModelVersion, {"id": "1", "name": "v"}, "no registeredModelId"),
    (ModelArtifact, {"id": "1", "name": "a", "artifactType": "doc-artifact"}, "artifactType"),
    (RegisteredModel, {"name": "m"}, "no id"),
])
def test_fetch_checks_the_entity_kind(stubs: Callable[..., Stub], cls: type, body: object,
                                      why: str) -> None:
    """fetch() of a model, version or artifact checks that the answer is one."""
    stub = stubs("json", json.dumps(body))
    client = RemoteRegistry(stub.url)
    try:
        with pytest.raises(RemoteProtocolError, match=why):
            client.fetch(cls, "1")
    finally:
        client.close()
