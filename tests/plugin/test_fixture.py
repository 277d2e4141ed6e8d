"""The ``localhub_server`` fixture: attributes, an empty registry per test, token and bundle."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

import localhub
from localhub.pytest_plugin import ServerPool
from localhub.testing import LocalhubServer

BUNDLE = Path(__file__).with_name("data") / "models.bundle.json"


def _models(server: LocalhubServer) -> list[str]:
    reply = requests.get(server.api_url + "/registered_models", headers=server.headers,
                         timeout=10)
    reply.raise_for_status()
    return sorted(item["name"] for item in reply.json()["items"])


def _create(server: LocalhubServer, name: str) -> str:
    reply = requests.post(server.api_url + "/registered_models", json={"name": name},
                          headers=server.headers, timeout=10)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def test_attributes(localhub_server: LocalhubServer) -> None:
    """url, host, port, db_path, token and client describe the running server."""
    server = localhub_server
    assert server.host == "127.0.0.1"
    assert isinstance(server.port, int) and 0 < server.port < 65536
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.db_path.is_file()
    assert server.token is None
    assert isinstance(server.client, localhub.ModelRegistryClient)
    assert Path(server.client.store.path) == server.db_path
    assert requests.get(server.url + "/readyz/health", timeout=10).text == "OK"


def test_client_sees_server_writes(localhub_server: LocalhubServer) -> None:
    """What the REST API writes, the fixture's client reads, and the other way round."""
    _create(localhub_server, "via-rest")
    assert localhub_server.client.get_model("via-rest").name == "via-rest"
    localhub_server.client.register_model("via-client", "s3://b/c", version="1")
    assert _models(localhub_server) == ["via-client", "via-rest"]


@pytest.mark.parametrize("run", [1, 2, 3])
def test_empty_at_start_of_each_test(localhub_server: LocalhubServer, run: int) -> None:
    """Every test starts with no models and ids from 1, whatever the test before it wrote."""
    assert _models(localhub_server) == []
    assert _create(localhub_server, "same-name") == "1"
    localhub_server.client.register_model("other", f"s3://b/{run}", version="1")


def test_same_process_across_tests(localhub_server: LocalhubServer,
                                   localhub_server_pool: ServerPool) -> None:
    """The fixture reuses the session's server: the pool hands out the same handle."""
    assert localhub_server_pool.get(None) is localhub_server
    assert localhub_server.running()


names = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), min_size=1,
                 max_size=8, unique=True)


@settings(max_examples=10, deadline=None)
@given(names=names)
def test_reset_empties_any_registry(localhub_server_pool: ServerPool, names: list[str]) -> None:
    """Whatever was registered, reset() leaves no model, no pending change, ids from 1."""
    server = localhub_server_pool.get(None)
    uid = server.client.store.get_meta("database_uid")
    for i, name in enumerate(names):
        server.client.register_model(name, f"s3://b/{name}", version=str(i))
    server.reset()
    assert _models(server) == []
    assert server.client.pending() == []
    assert server.client.store.get_meta("default_remote") is None
    assert server.client.store.get_meta("database_uid") == uid
    assert _create(server, names[0]) == "1"


@pytest.mark.localhub_server(token=True)
def test_token_required(localhub_server: LocalhubServer) -> None:
    """With token=True requests need the random bearer token; it never shows in repr."""
    server = localhub_server
    assert server.token and len(server.token) >= 20
    assert server.token not in repr(server)
    api = server.api_url + "/registered_models"
    assert requests.get(api, timeout=10).status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert requests.get(api, headers=bad, timeout=10).status_code == 401
    assert requests.get(api, headers=server.headers, timeout=10).status_code == 200
    assert _models(server) == []


@pytest.mark.localhub_server(token="fixed-token-for-tests")
def test_token_given(localhub_server: LocalhubServer,
                     localhub_server_pool: ServerPool) -> None:
    """token="..." requires exactly that token, on a server other than the tokenless one."""
    assert localhub_server.token == "fixed-token-for-tests"
    assert localhub_server.port != localhub_server_pool.get(None).port
    assert _models(localhub_server) == []


@pytest.mark.localhub_server(bundle="data/models.bundle.json")
def test_bundle(localhub_server: LocalhubServer) -> None:
    """bundle=PATH (relative to the test file) loads an export before the test."""
    assert _models(localhub_server) == ["churn", "fraud"]
    versions = [v.name for v in localhub_server.client.list_model_versions("fraud")]
    assert versions == ["1.0.0", "2.0.0"]
    uri = localhub_server.client.get_model_artifact("fraud", "2.0.0").uri
    assert uri == "s3://models/fraud/2"
    localhub_server.client.register_model("fraud", "s3://models/fraud/3", version="3.0.0")


@pytest.mark.localhub_server(bundle=str(BUNDLE), token=True)
def test_bundle_with_token(localhub_server: LocalhubServer) -> None:
    """bundle and token combine; an absolute bundle path works; the bundle loads afresh."""
    assert localhub_server.token is not None
    assert _models(localhub_server) == ["churn", "fraud"]
    assert [v.name for v in localhub_server.client.list_model_versions("fraud")] == [
        "1.0.0", "2.0.0"]


@pytest.mark.localhub_server(token=True)
class TestClassMarker:
    """A class marker applies to its tests; a method marker overrides per option."""

    def test_class_token(self, localhub_server: LocalhubServer) -> None:
        """The class's token=True reaches the test."""
        assert localhub_server.token is not None

    @pytest.mark.localhub_server(token=False)
    def test_method_overrides(self, localhub_server: LocalhubServer) -> None:
        """The method's token=False wins over the class's token=True."""
        assert localhub_server.token is None
        assert requests.get(localhub_server.api_url + "/registered_models",
                            timeout=10).status_code == 200
