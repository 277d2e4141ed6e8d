"""The official clients, constructed as the docs show, work against the fixture unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localhub.testing import LocalhubServer

model_registry = pytest.importorskip("model_registry")
hub = pytest.importorskip("kubeflow.hub")

NO_TOKEN = "User access token is missing"


def test_model_registry_client(localhub_server: LocalhubServer) -> None:
    """model_registry.ModelRegistry registers; the fixture's client reads the same registry."""
    with pytest.warns(UserWarning, match=NO_TOKEN):  # the official client's own warning
        registry = model_registry.ModelRegistry(server_address="http://127.0.0.1",
                                                port=localhub_server.port, author="ci",
                                                is_secure=False)
    model = registry.register_model("mnist", "s3://b/mnist", version="v1",
                                    model_format_name="onnx", model_format_version="1",
                                    metadata={"accuracy": 0.97})
    assert model.name == "mnist" and model.id == "1"
    version = localhub_server.client.get_model_version("mnist", "v1")
    assert version.author == "ci" and version.custom_properties == {"accuracy": 0.97}
    assert localhub_server.client.get_model_artifact("mnist", "v1").uri == "s3://b/mnist"


def test_kubeflow_hub_client(localhub_server: LocalhubServer) -> None:
    """kubeflow.hub.ModelRegistryClient(server.url) registers, lists and reads."""
    with pytest.warns(UserWarning, match=NO_TOKEN):
        client = hub.ModelRegistryClient(localhub_server.url, author="ci")
    client.register_model("kf", "s3://b/kf", version="1.0", model_format_name="onnx",
                          model_format_version="1")
    assert [m.name for m in client.list_models()] == ["kf"]
    assert client.get_model_artifact("kf", "1.0").uri == "s3://b/kf"
    assert localhub_server.client.get_model("kf").owner == "ci"


@pytest.mark.localhub_server(token=True)
def test_clients_find_the_token(localhub_server: LocalhubServer) -> None:
    """With token=True both clients, given no token, read it as in a pipeline pod."""
    token_file = Path(os.environ["KF_PIPELINES_SA_TOKEN_PATH"])
    assert token_file.read_text() == localhub_server.token
    assert token_file.stat().st_mode & 0o777 == 0o600
    registry = model_registry.ModelRegistry(server_address="http://127.0.0.1",
                                            port=localhub_server.port, author="ci",
                                            is_secure=False)
    registry.register_model("t", "s3://b/t", version="v1", model_format_name="onnx",
                            model_format_version="1")
    client = hub.ModelRegistryClient(localhub_server.url, author="ci")
    assert [m.name for m in client.list_models()] == ["t"]


@pytest.mark.localhub_server(token=True)
def test_clients_with_explicit_token(localhub_server: LocalhubServer,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """user_token=server.token works; a wrong token is refused by the server."""
    monkeypatch.delenv("KF_PIPELINES_SA_TOKEN_PATH")
    registry = model_registry.ModelRegistry("http://127.0.0.1", localhub_server.port,
                                            author="ci", is_secure=False,
                                            user_token=localhub_server.token)
    registry.register_model("t", "s3://b/t", version="v1", model_format_name="onnx",
                            model_format_version="1")
    with pytest.raises(Exception, match="401"):  # the client checks the server at once
        wrong = model_registry.ModelRegistry("http://127.0.0.1", localhub_server.port,
                                             author="ci", is_secure=False, user_token="wrong")
        wrong.get_registered_model("t")
