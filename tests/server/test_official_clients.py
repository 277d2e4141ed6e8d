"""The official Python clients (model-registry 0.3.18, kubeflow.hub) against ``localhub serve``."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.servers import TOKEN, Server

model_registry = pytest.importorskip("model_registry")
hub = pytest.importorskip("kubeflow.hub")

from model_registry.exceptions import StoreError  # noqa: E402
from model_registry.types import (  # noqa: E402
    ModelVersionState,
    RegisteredModelState,
)

PROPS: dict[str, Any] = {"flag": True, "count": 42, "ratio": 0.25, "label": "hello"}


def _mr(server: Server, token: str = "unused") -> Any:
    return model_registry.ModelRegistry("http://127.0.0.1", server.port, author="a",
                                        is_secure=False, user_token=token)


def _seed(client: Any, models: int = 3, versions: int = 3) -> None:
    for m in range(models):
        for v in range(versions):
            client.register_model(f"model-{m}", f"s3://bucket/m{m}/v{v}", version=f"v{v}",
                                  model_format_name="onnx", model_format_version="1",
                                  metadata={"n": v})


def test_register_get_and_duplicate(server: Server) -> None:
    """register_model creates model, version and artifact; a duplicate version is a StoreError."""
    client = _mr(server)
    rm = client.register_model("mnist", "s3://b/mnist", version="v1",
                               model_format_name="onnx", model_format_version="1",
                               metadata={"acc": 0.9, "epochs": 3})
    assert rm.name == "mnist" and rm.id and rm.owner == "a"
    client.register_model("mnist", "s3://b/mnist2", version="v2", model_format_name="onnx",
                          model_format_version="1")
    with pytest.raises(StoreError, match="already exists"):
        client.register_model("mnist", "s3://b/x", version="v1", model_format_name="onnx",
                              model_format_version="1")
    mv = client.get_model_version("mnist", "v1")
    assert mv.name == "v1" and mv.registered_model_id == rm.id and mv.author == "a"
    assert mv.custom_properties == {"acc": 0.9, "epochs": 3}
    ma = client.get_model_artifact("mnist", "v1")
    assert ma.uri == "s3://b/mnist" and ma.model_format_name == "onnx"
    assert client.get_registered_model("nope") is None
    names = [v.name for v in client.get_model_versions("mnist")]
    assert names == ["v1", "v2"]


def test_update_custom_properties_every_type(server: Server) -> None:
    """Updating model, version and artifact with bool/int/float/str properties reads back."""
    client = _mr(server)
    client.register_model("m", "s3://b/m", version="v1", model_format_name="onnx",
                          model_format_version="1")
    rm = client.get_registered_model("m")
    rm.custom_properties = dict(PROPS)
    rm.description = "desc"
    assert client.update(rm).custom_properties == PROPS
    mv = client.get_model_version("m", "v1")
    mv.custom_properties = dict(PROPS)
    client.update(mv)
    ma = client.get_model_artifact("m", "v1")
    ma.custom_properties = dict(PROPS)
    ma.storage_key = "key"
    client.update(ma)
    again = _mr(server)
    assert again.get_registered_model("m").custom_properties == PROPS
    assert again.get_registered_model("m").description == "desc"
    assert again.get_model_version("m", "v1").custom_properties == PROPS
    art = again.get_model_artifact("m", "v1")
    assert art.custom_properties == PROPS and art.storage_key == "key"
    for key, value in PROPS.items():  # types survive, not only values
        assert type(art.custom_properties[key]) is type(value)


def test_archive(server: Server) -> None:
    """Archiving a model and a version sets state ARCHIVED and keeps it."""
    client = _mr(server)
    client.register_model("m", "s3://b/m", version="v1", model_format_name="onnx",
                          model_format_version="1")
    rm = client.get_registered_model("m")
    rm.state = RegisteredModelState.ARCHIVED
    client.update(rm)
    mv = client.get_model_version("m", "v1")
    mv.state = ModelVersionState.ARCHIVED
    client.update(mv)
    assert client.get_registered_model("m").state == RegisteredModelState.ARCHIVED
    assert client.get_model_version("m", "v1").state == ModelVersionState.ARCHIVED


def test_labels_and_partial_updates(server: Server) -> None:
    """Empty-string properties (labels) read back; a sparse update keeps what it leaves out."""
    client = _mr(server)
    client.register_model("lbl", "s3://b/lbl", version="1.0.0", model_format_name="onnx",
                          model_format_version="1")
    rm = client.get_registered_model("lbl")
    mv = client.get_model_version("lbl", "1.0.0")
    ma = client.get_model_artifact("lbl", "1.0.0")
    for entity, labels in ((rm, {"l1": "", "l2": ""}), (mv, {"l3": ""}), (ma, {"l4": ""})):
        entity.custom_properties = labels
        assert client.update(entity).custom_properties == labels
    assert client.get_registered_model("lbl").custom_properties == {"l1": "", "l2": ""}
    assert client.get_model_version("lbl", "1.0.0").custom_properties == {"l3": ""}
    # An artifact built from its id, uri and a description keeps its format fields.
    sparse = model_registry.types.ModelArtifact(id=ma.id, uri=ma.uri, description="new")
    updated = client.update(sparse)
    assert (updated.description, updated.model_format_name,
            updated.model_format_version) == ("new", "onnx", "1")
    # A raw PATCH of one field on the older API path, without artifactType, is accepted.
    reply = requests.patch(f"{server.url}/api/model_registry/v1alpha3/model_artifacts/{ma.id}",
                           json={"modelFormatName": "foo"}, timeout=10)
    assert reply.status_code == 200, reply.text
    got = client.get_model_artifact("lbl", "1.0.0")
    assert (got.model_format_name, got.description, got.custom_properties) == \
        ("foo", "new", {"l4": ""})


@pytest.mark.parametrize("size", [1, 2, 7, None])
def test_pager_sees_every_item_once_in_order(server: Server, size: int | None) -> None:
    """The official Pager walks models and versions in every order, each item exactly once."""
    client = _mr(server)
    _seed(client, models=5, versions=3)
    # Touch some models so update order differs from creation order.
    for name in ("model-3", "model-0"):
        rm = client.get_registered_model(name)
        rm.description = "touched"
        client.update(rm)
    for order in ("id", "creation", "update"):
        for ascending in (True, False):
            pager = client.get_registered_models()
            if size is not None:
                pager = pager.page_size(size)
            pager = {"id": pager.order_by_id, "creation": pager.order_by_creation_time,
                     "update": pager.order_by_update_time}[order]()
            pager = pager.ascending() if ascending else pager.descending()
            seen = list(pager)
            ids = [m.id for m in seen]
            assert len(ids) == 5 and len(set(ids)) == 5
            key: Any = {"id": lambda m: int(m.id),
                   "creation": lambda m: (int(m.create_time_since_epoch), int(m.id)),
                   "update": lambda m: (int(m.last_update_time_since_epoch), int(m.id))}[order]
            assert seen == sorted(seen, key=key, reverse=not ascending), (order, ascending)
    versions = client.get_model_versions("model-1")
    if size is not None:
        versions = versions.page_size(size)
    assert [v.name for v in versions.descending()] == ["v2", "v1", "v0"]


def test_kubeflow_hub_client(server: Server) -> None:
    """kubeflow.hub.ModelRegistryClient registers, reads, updates and lists."""
    client = hub.ModelRegistryClient("http://127.0.0.1", port=server.port, author="a",
                                     user_token="unused")
    with pytest.warns(DeprecationWarning):
        client.register_model("kf", "s3://b/kf", version="1.0", model_format_name="onnx",
                              model_format_version="1", version_description="first",
                              metadata={"k": "v"})
    model = client.get_model("kf")
    model.custom_properties = dict(PROPS)
    assert client.update_model(model).custom_properties == PROPS
    version = client.get_model_version("kf", "1.0")
    assert version.description == "first" and version.custom_properties == {"k": "v"}
    version.custom_properties = dict(PROPS)
    assert client.update_model_version(version).custom_properties == PROPS
    artifact = client.get_model_artifact("kf", "1.0")
    artifact.model_format_version = "2"
    assert client.update_model_artifact(artifact).model_format_version == "2"
    assert [m.name for m in client.list_models()] == ["kf"]
    assert [v.name for v in client.list_model_versions("kf")] == ["1.0"]
    with pytest.raises(ValueError):
        client.get_model("missing")


def test_official_client_with_token(token_server: Server) -> None:
    """With --token-env the official client works when given the token."""
    client = _mr(token_server, token=TOKEN)
    client.register_model("t", "s3://b/t", version="v1", model_format_name="onnx",
                          model_format_version="1")
    assert client.get_registered_model("t").name == "t"
