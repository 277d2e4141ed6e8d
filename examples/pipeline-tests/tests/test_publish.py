"""The publish step against a real Model Registry: localhub's ``localhub_server`` fixture."""

from __future__ import annotations

import pytest
from publish import connect, publish


@pytest.fixture
def registry(localhub_server):
    """The official client, connected to the fixture's empty registry."""
    return connect("http://127.0.0.1", localhub_server.port, token=localhub_server.token)


def test_first_model_is_published(registry, localhub_server):
    result = publish(registry, "fraud", "s3://models/fraud/1", version="1", accuracy=0.91)
    assert result.version == "1"
    # Assert through localhub's own client, reading the same registry.
    artifact = localhub_server.client.get_model_artifact("fraud", "1")
    assert artifact.uri == "s3://models/fraud/1"


def test_worse_model_is_not_published(registry, localhub_server):
    publish(registry, "fraud", "s3://models/fraud/1", version="1", accuracy=0.91)
    result = publish(registry, "fraud", "s3://models/fraud/2", version="2", accuracy=0.85)
    assert result.version is None and result.best_accuracy == 0.91
    versions = [v.name for v in localhub_server.client.list_model_versions("fraud")]
    assert versions == ["1"]


def test_each_test_starts_empty(localhub_server):
    # The registry is emptied before every test: nothing from the tests above is left.
    assert list(localhub_server.client.list_models()) == []


@pytest.mark.localhub_server(token=True)
def test_with_a_token(registry, localhub_server):
    assert localhub_server.token is not None
    assert publish(registry, "churn", "s3://models/churn/1", version="1",
                   accuracy=0.7).version == "1"


@pytest.mark.localhub_server(bundle="data/registry.json")
def test_from_an_exported_registry(registry):
    # data/registry.json was written by `localhub export`: fraud 1.0.0 (0.91), 2.0.0 (0.95).
    result = publish(registry, "fraud", "s3://models/fraud/3", version="3.0.0", accuracy=0.93)
    assert result.version is None and result.best_accuracy == 0.95
