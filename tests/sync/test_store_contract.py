"""One contract, two implementations: SQLiteStore (local file) and RemoteRegistry (REST, a real
``localhub serve`` subprocess). Every test runs against both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localhub.errors import DuplicateError
from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import RegistryStore
from localhub.types import (
    Artifact,
    DocArtifact,
    ModelArtifact,
    ModelVersion,
    ModelVersionState,
    RegisteredModel,
    RegisteredModelState,
)

from tests.support.servers import Server


@pytest.fixture(params=["sqlite", "rest"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RegistryStore]:
    if request.param == "sqlite":
        local = SQLiteStore(tmp_path / "contract.db")
        try:
            yield local
        finally:
            local.close()
    else:
        server: Server = request.getfixturevalue("server")
        remote = RemoteRegistry(server.url)
        try:
            yield remote
        finally:
            remote.close()


def _tree(store: RegistryStore) -> tuple[RegisteredModel, ModelVersion, ModelArtifact]:
    rm = store.create(RegisteredModel(name="m", description="d", owner="o",
                                      custom_properties={"k": "v", "n": 3}))
    mv = store.create(ModelVersion(name="v1", registered_model_id=str(rm.id), author="ann"))
    ma = store.create(ModelArtifact(name="weights", uri="s3://b/m/1",
                                    model_format_name="onnx"), version_id=str(mv.id))
    return rm, mv, ma


def test_both_implement_the_protocol(store: RegistryStore) -> None:
    assert isinstance(store, RegistryStore)


def test_create_then_get_and_find(store: RegistryStore) -> None:
    rm, mv, ma = _tree(store)
    assert rm.id and mv.id and ma.id
    assert rm.create_time_since_epoch and rm.last_update_time_since_epoch
    got = store.get(RegisteredModel, str(rm.id))
    assert got is not None
    assert (got.name, got.description, got.owner, got.custom_properties) == (
        "m", "d", "o", {"k": "v", "n": 3})
    assert got.state == RegisteredModelState.LIVE
    version = store.get(ModelVersion, str(mv.id))
    assert version is not None and (version.name, version.author) == ("v1", "ann")
    assert str(version.registered_model_id) == str(rm.id)
    art = store.get(ModelArtifact, str(ma.id))
    assert art is not None and (art.uri, art.model_format_name) == ("s3://b/m/1", "onnx")
    generic = store.get(Artifact, str(ma.id))
    assert isinstance(generic, ModelArtifact)
    found = store.find(RegisteredModel, name="m")
    assert found is not None and str(found.id) == str(rm.id)
    found_v = store.find(ModelVersion, name="v1", parent_id=str(rm.id))
    assert found_v is not None and str(found_v.id) == str(mv.id)
    found_a = store.find(ModelArtifact, name="weights", parent_id=str(mv.id))
    assert found_a is not None and str(found_a.id) == str(ma.id)


def test_absent_and_wrong_type_are_none(store: RegistryStore) -> None:
    rm, _mv, ma = _tree(store)
    assert store.get(RegisteredModel, "9999") is None
    assert store.find(RegisteredModel, name="nope") is None
    assert store.find(ModelVersion, name="nope", parent_id=str(rm.id)) is None
    assert store.get(DocArtifact, str(ma.id)) is None  # a model artifact, not a doc


def test_duplicate_names_are_refused(store: RegistryStore) -> None:
    rm, _mv, _ma = _tree(store)
    with pytest.raises(DuplicateError):
        store.create(RegisteredModel(name="m"))
    with pytest.raises(DuplicateError):
        store.create(ModelVersion(name="v1", registered_model_id=str(rm.id)))
    # The same version name under another model is fine.
    other = store.create(RegisteredModel(name="other"))
    assert store.create(ModelVersion(name="v1", registered_model_id=str(other.id))).id


def test_update_writes_fields_properties_and_state(store: RegistryStore) -> None:
    rm, mv, ma = _tree(store)
    before = int(rm.last_update_time_since_epoch or 0)
    rm.description = "new"
    rm.custom_properties = {"k": "w", "flag": True}
    rm.state = RegisteredModelState.ARCHIVED
    updated = store.update(rm)
    assert updated.description == "new"
    got = store.get(RegisteredModel, str(rm.id))
    assert got is not None
    assert (got.description, got.custom_properties, got.state) == (
        "new", {"k": "w", "flag": True}, RegisteredModelState.ARCHIVED)
    assert int(got.last_update_time_since_epoch or 0) >= before
    mv.state = ModelVersionState.ARCHIVED
    mv.description = "old"
    store.update(mv)
    version = store.get(ModelVersion, str(mv.id))
    assert version is not None and (version.state, version.description) == (
        ModelVersionState.ARCHIVED, "old")
    ma.uri = "s3://b/m/2"
    store.update(ma)
    art = store.get(ModelArtifact, str(ma.id))
    assert art is not None and art.uri == "s3://b/m/2"


def test_list_children_and_pages(store: RegistryStore) -> None:
    rm, mv, _ma = _tree(store)
    doc = store.create(DocArtifact(name="readme", uri="s3://b/readme"), version_id=str(mv.id))
    store.create(ModelVersion(name="v2", registered_model_id=str(rm.id)))
    for i in range(5):
        store.create(RegisteredModel(name=f"p{i}"))
    assert [v.name for v in store.list_page(ModelVersion, parent_id=str(rm.id)).items] == [
        "v1", "v2"]
    arts = store.list_page(Artifact, parent_id=str(mv.id)).items
    assert sorted((type(a).__name__, a.name) for a in arts) == [
        ("DocArtifact", "readme"), ("ModelArtifact", "weights")]
    assert [a.name for a in store.list_page(DocArtifact, parent_id=str(mv.id)).items] == ["readme"]
    assert str(doc.id)
    every = store.list_page(RegisteredModel).items
    assert [m.name for m in every] == ["m", "p0", "p1", "p2", "p3", "p4"]
    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        page = store.list_page(RegisteredModel, page_size=2, page_token=token,
                          order_by="CREATE_TIME", sort_order="ASC")
        assert len(page.items) <= 2
        seen += [str(m.name) for m in page.items]
        token = page.next_page_token
        if not token or len(seen) >= 6:
            break
    assert seen == ["m", "p0", "p1", "p2", "p3", "p4"]
    filtered = store.list_page(RegisteredModel, filter_query="name = 'p3'").items
    assert [m.name for m in filtered] == ["p3"]


def test_find_by_external_id(store: RegistryStore) -> None:
    rm = store.create(RegisteredModel(name="ext", external_id="ext-1"))
    found = store.find(RegisteredModel, external_id="ext-1")
    assert found is not None and str(found.id) == str(rm.id)
    assert store.find(RegisteredModel, external_id="missing") is None
