"""The facades behave like the official clients: signatures, return values, errors, Pager."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubeflow.hub
import model_registry
import model_registry.types as official_types
import pytest

import localhub
from localhub import (
    ArtifactState,
    ModelArtifact,
    ModelRegistry,
    ModelRegistryClient,
    ModelVersion,
    ModelVersionState,
    RegisteredModel,
    RegisteredModelState,
    SQLiteStore,
)

from tests.support.tables import snapshot

EXTRA_KEYWORDS = {"path", "store", "filter_query", "order_by", "descending", "page_size"}
CLIENT_METHODS = ["__init__", "register_model", "update_model", "update_model_version",
                  "update_model_artifact", "get_model", "get_model_version", "get_model_artifact",
                  "list_models", "list_model_versions"]
REGISTRY_METHODS = ["__init__", "register_model", "update", "get_registered_model",
                    "get_model_version", "get_model_artifact", "get_registered_models",
                    "get_model_versions"]


def assert_same_signature(official: Callable[..., Any], ours: Callable[..., Any]) -> None:
    """Same names, order, kinds and defaults; ours may only add defaulted keyword-only extras."""
    theirs = list(inspect.signature(official).parameters.values())
    mine = list(inspect.signature(ours).parameters.values())
    assert len(mine) >= len(theirs), f"{ours.__qualname__} lacks parameters"
    for want, got in zip(theirs, mine, strict=False):
        assert (got.name, got.kind, got.default) == (want.name, want.kind, want.default), (
            f"{ours.__qualname__}: {got} differs from official {want}")
    for extra in mine[len(theirs):]:
        assert extra.kind is inspect.Parameter.KEYWORD_ONLY, extra
        assert extra.default is not inspect.Parameter.empty, extra
        assert extra.name in EXTRA_KEYWORDS, extra


@pytest.mark.parametrize("method", CLIENT_METHODS)
def test_client_signatures_match_kubeflow_hub(method: str) -> None:
    """Every public method of kubeflow.hub.ModelRegistryClient has our identical signature."""
    assert_same_signature(getattr(kubeflow.hub.ModelRegistryClient, method),
                          getattr(ModelRegistryClient, method))


@pytest.mark.parametrize("method", REGISTRY_METHODS)
def test_registry_signatures_match_model_registry(method: str) -> None:
    """The mirrored methods of model_registry.ModelRegistry have our identical signatures."""
    assert_same_signature(getattr(model_registry.ModelRegistry, method),
                          getattr(ModelRegistry, method))


def test_client_mirrors_every_public_kubeflow_method() -> None:
    """No public method of the kubeflow.hub client is missing from ours."""
    public = {n for n, _ in inspect.getmembers(kubeflow.hub.ModelRegistryClient)
              if not n.startswith("_")}
    assert public == set(CLIENT_METHODS) - {"__init__"}
    assert all(callable(getattr(ModelRegistryClient, n)) for n in public)


def test_storage_config_matches_kubeflow() -> None:
    """StorageConfig has the same fields and defaults as kubeflow.hub.StorageConfig."""
    theirs = {f.name: f.default for f in dataclasses.fields(kubeflow.hub.StorageConfig)}
    ours = {f.name: f.default for f in dataclasses.fields(localhub.StorageConfig)}
    assert ours == theirs


@pytest.mark.parametrize(("ours", "theirs"), [
    (RegisteredModel, official_types.RegisteredModel),
    (ModelVersion, official_types.ModelVersion),
    (ModelArtifact, official_types.ModelArtifact),
])
def test_types_are_a_superset_of_the_official_types(ours: type, theirs: Any) -> None:
    """Our domain types carry every official field with the same default (or both required)."""
    mine = {f.name: f for f in dataclasses.fields(ours)}
    for name, info in theirs.model_fields.items():
        assert name in mine, name
        if info.is_required():
            assert mine[name].default is dataclasses.MISSING, name
            assert mine[name].default_factory is dataclasses.MISSING, name
        else:
            assert mine[name].default == info.default, name


@pytest.mark.parametrize(("ours", "theirs"), [
    (RegisteredModelState, official_types.RegisteredModelState),
    (ModelVersionState, official_types.ModelVersionState),
    (ArtifactState, official_types.ArtifactState),
])
def test_state_enums_match(ours: Any, theirs: Any) -> None:
    """State enums have the same members, values, and str() rendering as the official ones."""
    assert [(m.name, m.value) for m in ours] == [(m.name, m.value) for m in theirs]
    for mine, official in zip(ours, theirs, strict=False):
        assert f"{mine}" == f"{official}"
        assert mine == official.value


def test_list_options_superset() -> None:
    """ListOptions has the official fields, defaults and class helpers."""
    official = inspect.signature(official_types.ListOptions).parameters
    ours = inspect.signature(localhub.ListOptions).parameters
    for name, param in official.items():
        assert ours[name].default == param.default
    assert localhub.ListOptions.order_by_creation_time().order_by == "CREATE_TIME"
    assert localhub.ListOptions.order_by_update_time().order_by == "LAST_UPDATE_TIME"
    assert localhub.ListOptions.order_by_id().order_by == "ID"


# -- registration --------------------------------------------------------------------------


def test_register_model_returns_model_with_defaults(client: ModelRegistryClient) -> None:
    """register_model returns the RegisteredModel; owner/author default to the client author."""
    model = client.register_model("m", "s3://b/m", version="v1", model_format_name="onnx",
                                  model_format_version="1")
    assert type(model) is RegisteredModel
    assert (model.name, model.owner, model.state) == ("m", "alice", RegisteredModelState.LIVE)
    assert model.id is not None and model.id.isdigit()
    assert model.custom_properties is None
    assert model.description is None
    assert model.create_time_since_epoch == model.last_update_time_since_epoch
    assert model.create_time_since_epoch is not None and model.create_time_since_epoch.isdigit()
    version = client.get_model_version("m", "v1")
    assert (version.name, version.author, version.state) == ("v1", "alice",
                                                            ModelVersionState.LIVE)
    assert version.registered_model_id == model.id
    assert version.custom_properties is None
    artifact = client.get_model_artifact("m", "v1")
    assert (artifact.name, artifact.uri, artifact.state) == ("m", "s3://b/m",
                                                            ArtifactState.UNKNOWN)
    assert (artifact.model_format_name, artifact.model_format_version) == ("onnx", "1")
    assert artifact.custom_properties is None


def test_register_explicit_owner_author_and_storage(client: ModelRegistryClient) -> None:
    """Explicit owner, author, description and StorageConfig land on the right entities."""
    client.register_model(
        "m", "s3://b/m", version="v1", author="bob", owner="carol",
        version_description="first",
        storage_config=localhub.StorageConfig(storage_key="k", storage_path="p",
                                              service_account_name="sa"))
    assert client.get_model("m").owner == "carol"
    version = client.get_model_version("m", "v1")
    assert (version.author, version.description) == ("bob", "first")
    artifact = client.get_model_artifact("m", "v1")
    assert (artifact.storage_key, artifact.storage_path, artifact.service_account_name) == (
        "k", "p", "sa")


def test_second_version_reuses_model(client: ModelRegistryClient) -> None:
    """A new version of an existing model reuses it (owner of the first registration kept)."""
    first = client.register_model("m", "s3://1", version="v1", owner="bob")
    second = client.register_model("m", "s3://2", version="v2", owner="zed")
    assert second.id == first.id
    assert second.owner == "bob"
    assert [v.name for v in client.list_model_versions("m")] == ["v1", "v2"]


def test_duplicate_version_writes_nothing(client: ModelRegistryClient, db_path: Path) -> None:
    """A duplicate version raises DuplicateError('Version X already exists'); nothing changes."""
    client.register_model("m", "s3://1", version="v1")
    before, pending = snapshot(db_path), client.pending()
    with pytest.raises(localhub.DuplicateError) as info:
        client.register_model("m", "s3://other", version="v1", metadata={"a": 1})
    assert isinstance(info.value, localhub.StoreError)
    assert str(info.value) == "Version v1 already exists"
    assert snapshot(db_path) == before
    assert client.pending() == pending
    assert client.get_model_artifact("m", "v1").uri == "s3://1"


def test_registry_description_is_deprecated(registry: ModelRegistry) -> None:
    """ModelRegistry.register_model(description=...) warns and sets the version description."""
    with pytest.warns(DeprecationWarning, match="version_description"):
        registry.register_model("m", "s3://x", model_format_name="f", model_format_version="1",
                                version="v1", description="old")
    assert registry.get_model_version("m", "v1").description == "old"  # type: ignore[union-attr]
    with pytest.warns(DeprecationWarning):
        registry.register_model("m", "s3://x", model_format_name="f", model_format_version="1",
                                version="v2", description="old", version_description="new")
    assert registry.get_model_version("m", "v2").description == "new"  # type: ignore[union-attr]


def test_client_version_description_does_not_warn(client: ModelRegistryClient) -> None:
    """Our client passes version_description straight through (no spurious warning)."""
    client.register_model("m", "s3://x", version="v1", version_description="d")
    assert client.get_model_version("m", "v1").description == "d"


@pytest.mark.parametrize("value", [True, False, 0, 7, -999_999_999, 999_999_999, 0.5, -1e300,
                                   1.0, "", "text", "ünïcødé ✓"])
def test_custom_property_round_trip(client: ModelRegistryClient, value: Any) -> None:
    """bool, int, float and str metadata values come back with the same type and value."""
    client.register_model("m", "s3://x", version="v1", metadata={"k": value})
    props = client.get_model_version("m", "v1").custom_properties
    assert props == {"k": value}
    assert props is not None and type(props["k"]) is type(value)


def test_none_metadata_values_are_dropped(client: ModelRegistryClient) -> None:
    """None values in metadata are skipped, as the official client does."""
    client.register_model("m", "s3://x", version="v1", metadata={"a": None, "b": 1})  # type: ignore[dict-item]
    assert client.get_model_version("m", "v1").custom_properties == {"b": 1}


# -- lookups and errors ----------------------------------------------------------------------


def test_get_model_missing_is_value_error(client: ModelRegistryClient) -> None:
    """get_model of an unknown name raises ValueError."""
    with pytest.raises(ValueError, match="'nope' not found"):
        client.get_model("nope")


def test_get_model_version_errors(client: ModelRegistryClient) -> None:
    """Missing model → StoreError 'Model X does not exist'; missing version → ValueError."""
    with pytest.raises(localhub.StoreError, match="^Model nope does not exist$"):
        client.get_model_version("nope", "v1")
    client.register_model("m", "s3://x", version="v1")
    with pytest.raises(ValueError, match="'v9' not found for model 'm'") as info:
        client.get_model_version("m", "v9")
    assert not isinstance(info.value, localhub.StoreError)


def test_get_model_artifact_errors(client: ModelRegistryClient) -> None:
    """Missing model or version → StoreError; a version without artifact → ValueError."""
    with pytest.raises(localhub.StoreError, match="^Model nope does not exist$"):
        client.get_model_artifact("nope", "v1")
    client.register_model("m", "s3://x", version="v1")
    with pytest.raises(localhub.StoreError, match="^Version v9 does not exist$"):
        client.get_model_artifact("m", "v9")
    model = client.get_model("m")
    assert model.id is not None
    client.store.create(ModelVersion(name="bare", registered_model_id=model.id))
    with pytest.raises(ValueError, match="not found") as info:
        client.get_model_artifact("m", "bare")
    assert not isinstance(info.value, localhub.StoreError)


def test_list_model_versions_of_missing_model(client: ModelRegistryClient) -> None:
    """list_model_versions of a missing model raises StoreError when iterated."""
    versions = client.list_model_versions("nope")
    with pytest.raises(localhub.StoreError, match="Model nope does not exist"):
        next(versions)


def test_registry_getters_return_none(registry: ModelRegistry) -> None:
    """ModelRegistry.get_* return None for absent entities (StoreError for a missing parent)."""
    assert registry.get_registered_model("nope") is None
    with pytest.raises(localhub.StoreError):
        registry.get_model_version("nope", "v1")
    with pytest.raises(localhub.StoreError):
        registry.get_model_versions("nope")
    registry.register_model("m", "s3://x", model_format_name=None, model_format_version=None,
                            version="v1")
    assert registry.get_model_version("m", "v2") is None
    with pytest.raises(localhub.StoreError, match="Version v2 does not exist"):
        registry.get_model_artifact("m", "v2")
    artifact = registry.get_model_artifact("m", "v1")
    assert artifact is not None and artifact.name == "m"


@pytest.mark.parametrize(("method", "wrong"), [
    ("update_model", ModelVersion(name="v", id="1")),
    ("update_model", ModelArtifact(uri="s3://x", id="1")),
    ("update_model_version", RegisteredModel(name="m", id="1")),
    ("update_model_artifact", ModelVersion(name="v", id="1")),
    ("update_model", official_types.RegisteredModel(name="m", id="1")),
])
def test_update_wrong_type_is_type_error(client: ModelRegistryClient, method: str,
                                         wrong: object) -> None:
    """update_model* with an object of another type raises TypeError naming both types."""
    with pytest.raises(TypeError, match=f"^Expected .*, got {type(wrong).__name__}"):
        getattr(client, method)(wrong)


def test_update_without_id_is_store_error(client: ModelRegistryClient,
                                          registry: ModelRegistry) -> None:
    """Updating an object without id raises StoreError('Model must have an ID')."""
    with pytest.raises(localhub.StoreError, match="^Model must have an ID$"):
        client.update_model(RegisteredModel(name="m"))
    with pytest.raises(localhub.StoreError, match="^Model must have an ID$"):
        client.update_model_version(ModelVersion(name="v"))
    with pytest.raises(localhub.StoreError, match="^Model must have an ID$"):
        registry.update(ModelArtifact(uri="s3://x"))


def test_registry_update_rejects_non_resources(registry: ModelRegistry) -> None:
    """ModelRegistry.update of a non-registry object raises StoreError."""
    class Fake:
        id = "1"

    with pytest.raises(localhub.StoreError, match="BaseResourceModel"):
        registry.update(Fake())  # type: ignore[type-var]


def test_update_unknown_id_is_not_found(client: ModelRegistryClient) -> None:
    """Updating an id that does not exist raises NotFoundError (a ValueError)."""
    with pytest.raises(localhub.NotFoundError):
        client.update_model(RegisteredModel(name="m", id="42"))


def test_update_round_trip(client: ModelRegistryClient) -> None:
    """Updates of model, version and artifact are stored and returned; names are immutable."""
    client.register_model("m", "s3://x", version="v1", metadata={"a": 1})
    model = client.get_model("m")
    model.description, model.owner, model.name = "desc", "bob", "renamed"
    updated = client.update_model(model)
    assert (updated.description, updated.owner, updated.name) == ("desc", "bob", "m")
    assert client.get_model("m") == updated
    version = client.get_model_version("m", "v1")
    version.custom_properties = {"a": 2, "b": "x"}
    version.state = ModelVersionState.ARCHIVED
    assert client.update_model_version(version).custom_properties == {"a": 2, "b": "x"}
    assert client.get_model_version("m", "v1").state is ModelVersionState.ARCHIVED
    artifact = client.get_model_artifact("m", "v1")
    artifact.uri, artifact.state = "s3://y", ArtifactState.LIVE
    stored = client.update_model_artifact(artifact)
    assert (stored.uri, stored.state) == ("s3://y", ArtifactState.LIVE)
    assert client.get_model_artifact("m", "v1") == stored


# -- Pager -----------------------------------------------------------------------------------


@pytest.fixture
def frozen(tmp_path: Path) -> ModelRegistry:
    """A registry whose clock never moves: every row has the same timestamps."""
    store = SQLiteStore(tmp_path / "frozen.db", clock=lambda: 1000)
    registry = ModelRegistry("https://registry.example.com", author="alice", store=store)
    for i in range(23):
        registry.register_model(f"m{i:02d}", f"s3://{i}", model_format_name="f",
                                model_format_version="1", version="v1")
    for i in range(11):
        registry.register_model("m00", f"s3://x{i}", model_format_name="f",
                                model_format_version="1", version=f"v{i + 2:02d}")
    return registry


@pytest.mark.parametrize("size", [1, 2, 7, None])
@pytest.mark.parametrize("order", ["id", "creation", "update"])
@pytest.mark.parametrize("descending", [False, True])
def test_pager_sees_every_item_once(frozen: ModelRegistry, size: int | None, order: str,
                                    descending: bool) -> None:
    """Iteration yields every item exactly once in id order, even with equal timestamps."""
    for pager, count in ((frozen.get_registered_models(), 23),
                         (frozen.get_model_versions("m00"), 12)):
        getattr(pager, f"order_by_{order}" if order == "id" else
                f"order_by_{order}_time")()
        if size is not None:
            pager.page_size(size)
        if descending:
            pager.descending()
        ids = [int(item.id) for item in pager]  # type: ignore[arg-type]
        assert len(ids) == count
        assert ids == sorted(ids, reverse=descending)
        assert all(item.create_time_since_epoch == "1000" for item in pager.restart())


def test_pager_builders_return_self_and_reset(frozen: ModelRegistry) -> None:
    """Every builder returns the same pager and restarts it; page_size(0) is a ValueError."""
    pager = frozen.get_registered_models()
    for builder in (pager.order_by_creation_time, pager.order_by_update_time,
                    pager.order_by_id, pager.ascending, pager.descending, pager.restart):
        assert builder() is pager
    assert pager.page_size(3) is pager
    with pytest.raises(ValueError, match="Page size must be at least 1, got 0"):
        pager.page_size(0)
    with pytest.raises(ValueError):
        pager.page_size(-1)
    pager.ascending().order_by_id()
    first = next(pager)
    assert first.name == "m00"
    next(pager)
    pager.descending()
    assert next(pager).name == "m22"
    assert pager.restart() is pager
    assert next(pager).name == "m22"


def test_pager_next_page_and_next_item(frozen: ModelRegistry) -> None:
    """next_page returns successive pages then wraps; next_item walks the first page only."""
    pager = frozen.get_registered_models().page_size(10)
    pages = [[m.name for m in pager.next_page()] for _ in range(4)]
    assert pages[0] == [f"m{i:02d}" for i in range(10)]
    assert pages[1] == [f"m{i:02d}" for i in range(10, 20)]
    assert pages[2] == ["m20", "m21", "m22"]
    assert pages[3] == pages[0]
    pager.restart()
    assert [pager.next_item().name for _ in range(10)] == [f"m{i:02d}" for i in range(10)]
    # As in the official Pager: without next() having recorded the first token, next_item
    # does not fetch further pages.
    with pytest.raises(StopIteration):
        pager.next_item()


def test_pager_on_empty_registry(registry: ModelRegistry) -> None:
    """An empty listing iterates to nothing at any page size."""
    assert list(registry.get_registered_models()) == []
    assert list(registry.get_registered_models().page_size(1)) == []


def test_list_models_keywords(client: ModelRegistryClient) -> None:
    """list_models accepts order_by, descending and page_size keywords; page_size 0 errors."""
    for name in ("a", "b", "c"):
        client.register_model(name, "s3://x", version="v1")
    assert [m.name for m in client.list_models(descending=True, page_size=1)] == ["c", "b", "a"]
    assert [m.name for m in client.list_models(order_by="create_time")] == ["a", "b", "c"]
    with pytest.raises(ValueError):
        list(client.list_models(page_size=0))
