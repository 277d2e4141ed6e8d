"""The store: outbox rows per mutation, pending(), filters, delete, archive, uniqueness."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import localhub
from localhub import (
    ArtifactState,
    ModelArtifact,
    ModelRegistryClient,
    ModelVersion,
    ModelVersionState,
    PendingChange,
    RegisteredModel,
    RegisteredModelState,
)

from tests.support.tables import count_rows, snapshot

RM_CREATE = ("name", "owner", "state")
MV_CREATE = ("author", "name", "state")
MA_CREATE = ("model_format_name", "name", "state", "uri")


def summary(changes: list[PendingChange]) -> list[tuple[object, ...]]:
    """(entity, op, fields, model, version, artifact) of each pending change."""
    return [(c.entity, c.op, c.fields, c.model, c.version, c.artifact) for c in changes]


def set_origin(db_path: Path, table: str, kind: str, name: str, origin: str = "remote") -> None:
    """Mark a row as pulled from a remote, through a raw connection."""
    conn = sqlite3.connect(db_path)
    with conn:
        cur = conn.execute(f"UPDATE {table} SET origin = ? WHERE kind = ? AND name = ?",
                           (origin, kind, name))
        assert cur.rowcount == 1
    conn.close()


# -- outbox -----------------------------------------------------------------------------------


def test_register_writes_three_create_rows(client: ModelRegistryClient) -> None:
    """A new model registration queues creates of model, version and artifact, in that order."""
    model = client.register_model("m", "s3://x", version="v1", model_format_name="onnx")
    changes = client.pending()
    assert summary(changes) == [
        ("registered-model", "create", RM_CREATE, "m", None, None),
        ("model-version", "create", MV_CREATE, "m", "v1", None),
        ("model-artifact", "create", MA_CREATE, "m", "v1", "m"),
    ]
    assert changes[0].entity_id == model.id
    assert changes[1].entity_id == client.get_model_version("m", "v1").id
    assert changes[2].entity_id == client.get_model_artifact("m", "v1").id
    assert [c.seq for c in changes] == sorted({c.seq for c in changes})
    assert all(c.created_at.isdigit() for c in changes)


def test_create_fields_list_what_was_set(client: ModelRegistryClient) -> None:
    """Create rows list every field given a value (metadata, description, storage)."""
    client.register_model("m", "s3://x", version="v1", model_format_name="onnx",
                          model_format_version="1", version_description="d",
                          metadata={"a": 1},
                          storage_config=localhub.StorageConfig(storage_key="k"))
    _, mv, ma = client.pending()
    assert mv.fields == ("author", "custom_properties", "description", "name", "state")
    assert ma.fields == ("model_format_name", "model_format_version", "name", "state",
                         "storage_key", "uri")


def test_new_version_of_existing_model_queues_two_rows(client: ModelRegistryClient) -> None:
    """A version of an existing model queues only the version and artifact creates."""
    client.register_model("m", "s3://x", version="v1")
    client.register_model("m", "s3://y", version="v2")
    assert summary(client.pending()[3:]) == [
        ("model-version", "create", MV_CREATE, "m", "v2", None),
        ("model-artifact", "create", ("name", "state", "uri"), "m", "v2", "m"),
    ]


def test_update_rows_list_exactly_the_changed_fields(client: ModelRegistryClient) -> None:
    """Each update queues one row naming exactly the fields that changed."""
    client.register_model("m", "s3://x", version="v1", model_format_name="onnx")
    model = client.get_model("m")
    model.description, model.owner = "d", "bob"
    client.update_model(model)
    version = client.get_model_version("m", "v1")
    version.custom_properties = {"acc": 0.9}
    client.update_model_version(version)
    artifact = client.get_model_artifact("m", "v1")
    artifact.uri, artifact.model_format_version = "s3://y", "2"
    client.update_model_artifact(artifact)
    assert summary(client.pending()[3:]) == [
        ("registered-model", "update", ("description", "owner"), "m", None, None),
        ("model-version", "update", ("custom_properties",), "m", "v1", None),
        ("model-artifact", "update", ("model_format_version", "uri"), "m", "v1", "m"),
    ]


def test_noop_update_writes_no_row(client: ModelRegistryClient) -> None:
    """Updating with unchanged values queues nothing and keeps the update time."""
    client.register_model("m", "s3://x", version="v1", metadata={"a": 1})
    model, version = client.get_model("m"), client.get_model_version("m", "v1")
    artifact = client.get_model_artifact("m", "v1")
    pending = client.pending()
    assert client.update_model(model) == model
    assert client.update_model_version(version) == version
    assert client.update_model_artifact(artifact) == artifact
    assert client.pending() == pending


def test_archive_and_restore_are_state_updates(client: ModelRegistryClient) -> None:
    """archive/restore set the state and queue an update of 'state' only."""
    client.register_model("m", "s3://x", version="v1")
    assert client.archive_model("m").state is RegisteredModelState.ARCHIVED
    assert client.archive_model_version("m", "v1").state is ModelVersionState.ARCHIVED
    assert client.get_model("m").state is RegisteredModelState.ARCHIVED
    assert client.restore_model("m").state is RegisteredModelState.LIVE
    assert client.restore_model_version("m", "v1").state is ModelVersionState.LIVE
    assert summary(client.pending()[3:]) == [
        ("registered-model", "update", ("state",), "m", None, None),
        ("model-version", "update", ("state",), "m", "v1", None),
        ("registered-model", "update", ("state",), "m", None, None),
        ("model-version", "update", ("state",), "m", "v1", None),
    ]
    # Archiving twice is a no-op.
    client.archive_model("m")
    client.archive_model("m")
    assert len(client.pending()) == 8


def test_archive_missing_is_not_found(client: ModelRegistryClient) -> None:
    """Archiving an unknown model or version raises NotFoundError."""
    with pytest.raises(localhub.NotFoundError):
        client.archive_model("nope")
    client.register_model("m", "s3://x", version="v1")
    with pytest.raises(localhub.NotFoundError):
        client.archive_model_version("m", "v9")


def test_default_remote_recorded_on_first_write(client: ModelRegistryClient,
                                                tmp_path: Path) -> None:
    """The client's base_url is remembered as default remote on the first write."""
    assert client.base_url == "https://registry.example.com"
    client.register_model("m", "s3://x", version="v1")
    assert client.store.get_meta("default_remote") == "https://registry.example.com"
    other = localhub.ModelRegistryClient("http://localhost", path=tmp_path / "o.db")
    assert other.base_url == "http://localhost:8080"
    other.store.close()


# -- filter queries ---------------------------------------------------------------------------


@pytest.fixture
def populated(client: ModelRegistryClient) -> ModelRegistryClient:
    """Three models with versions carrying metadata; one model archived."""
    client.register_model("alpha", "s3://a1", version="v1", metadata={"acc": 0.91, "ep": 10})
    client.register_model("alpha", "s3://a2", version="v2", author="bob",
                          metadata={"acc": 0.5, "team": "nlp"})
    client.register_model("alpha", "s3://a3", version="rc1", metadata={"ok": True})
    client.register_model("beta", "s3://b1", version="v1", owner="bob")
    client.register_model("gamma", "s3://g1", version="v1")
    client.archive_model("gamma")
    return client


@pytest.mark.parametrize(("query", "expected"), [
    ("name = 'alpha'", ["alpha"]),
    ("owner = 'bob'", ["beta"]),
    ("state = 'ARCHIVED'", ["gamma"]),
    ("state = 'LIVE' AND owner = 'alice'", ["alpha"]),
    ("name IN ('beta', 'gamma') OR name = 'nope'", ["beta", "gamma"]),
    ("name LIKE 'a%'", ["alpha"]),
    ("", ["alpha", "beta", "gamma"]),
])
def test_filter_models(populated: ModelRegistryClient, query: str, expected: list[str]) -> None:
    """filter_query on list_models selects with the REST filter grammar."""
    assert [m.name for m in populated.list_models(filter_query=query)] == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("acc > 0.6", ["v1"]),
    ("acc.double_value <= 0.91", ["v1", "v2"]),
    ("ep = 10", ["v1"]),
    ("team = 'nlp'", ["v2"]),
    ("ok = true", ["rc1"]),
    ("author = 'bob'", ["v2"]),
    ("name LIKE 'v%'", ["v1", "v2"]),
    ("name = 'rc1' OR (author = 'alice' AND acc > 0.9)", ["v1", "rc1"]),
])
def test_filter_versions(populated: ModelRegistryClient, query: str,
                         expected: list[str]) -> None:
    """filter_query on list_model_versions sees well-known fields and custom properties."""
    got = [v.name for v in populated.list_model_versions("alpha", filter_query=query)]
    assert got == expected


def test_filter_with_paging(populated: ModelRegistryClient) -> None:
    """A filter applies to every page of a paged listing."""
    got = [m.name for m in populated.list_models(filter_query="state = 'LIVE'", page_size=1,
                                                 descending=True)]
    assert got == ["beta", "alpha"]


def test_bad_filter_is_filter_query_error(populated: ModelRegistryClient) -> None:
    """A malformed filter raises FilterQueryError, a ValueError and LocalHubError."""
    with pytest.raises(localhub.FilterQueryError) as info:
        list(populated.list_models(filter_query="name = "))
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, localhub.LocalHubError)


# -- delete -----------------------------------------------------------------------------------


def test_delete_never_synced_model_removes_children_and_outbox(
        client: ModelRegistryClient, db_path: Path) -> None:
    """Deleting a local-only model removes versions, artifacts and their queued changes."""
    client.register_model("keep", "s3://k", version="v1")
    client.register_model("m", "s3://x", version="v1")
    client.register_model("m", "s3://y", version="v2")
    client.archive_model_version("m", "v2")
    keep = client.pending()[:3]
    client.delete_model("m")
    assert client.pending() == keep
    assert snapshot(db_path) == {"contexts": 2, "artifacts": 1, "executions": 0, "outbox": 3}
    with pytest.raises(ValueError):
        client.get_model("m")
    assert [m.name for m in client.list_models()] == ["keep"]


def test_delete_never_synced_version(client: ModelRegistryClient, db_path: Path) -> None:
    """Deleting a local-only version removes it, its artifact and their queued changes."""
    client.register_model("m", "s3://x", version="v1")
    client.register_model("m", "s3://y", version="v2")
    client.delete_model_version("m", "v2")
    assert [v.name for v in client.list_model_versions("m")] == ["v1"]
    assert summary(client.pending()) == [
        ("registered-model", "create", RM_CREATE, "m", None, None),
        ("model-version", "create", MV_CREATE, "m", "v1", None),
        ("model-artifact", "create", ("name", "state", "uri"), "m", "v1", "m"),
    ]
    assert count_rows(db_path, "artifacts") == 1
    with pytest.raises(localhub.NotFoundError):
        client.delete_model_version("m", "v2")
    with pytest.raises(localhub.NotFoundError):
        client.delete_model("nope")


@pytest.mark.parametrize(("table", "kind", "name"), [
    ("contexts", "registered-model", "m"),
    ("contexts", "model-version", "v2"),
    ("artifacts", "model-artifact", "m"),
])
def test_delete_of_synced_entity_refused(client: ModelRegistryClient, db_path: Path,
                                         table: str, kind: str, name: str) -> None:
    """If the model or anything below it came from a remote, delete is refused; nothing goes."""
    client.register_model("m", "s3://x", version="v1")
    client.register_model("m", "s3://y", version="v2")
    conn = sqlite3.connect(db_path)
    with conn:
        row = conn.execute(f"SELECT id FROM {table} WHERE kind = ? AND name = ? "
                           "ORDER BY id DESC LIMIT 1", (kind, name)).fetchone()
        conn.execute(f"UPDATE {table} SET origin = 'remote' WHERE id = ?", (row[0],))
    conn.close()
    before, pending = snapshot(db_path), client.pending()
    with pytest.raises(localhub.DeleteNotAllowedError) as info:
        client.delete_model("m")
    assert isinstance(info.value, localhub.StoreError)
    assert "archive" in str(info.value)
    assert snapshot(db_path) == before
    assert client.pending() == pending
    client.delete_model_version("m", "v1")  # v1 and its artifact are local-only
    assert [v.name for v in client.list_model_versions("m")] == ["v2"]


# -- uniqueness -------------------------------------------------------------------------------


def test_same_version_name_in_two_models(client: ModelRegistryClient) -> None:
    """Version names are unique per model only."""
    client.register_model("a", "s3://a", version="1.0")
    client.register_model("b", "s3://b", version="1.0")
    assert client.get_model_version("a", "1.0").id != client.get_model_version("b", "1.0").id


def test_model_names_are_unique(client: ModelRegistryClient, db_path: Path) -> None:
    """Creating a second model with a taken name is a DuplicateError."""
    client.register_model("m", "s3://a", version="1")
    before = snapshot(db_path)
    with pytest.raises(localhub.DuplicateError):
        client.store.create(RegisteredModel(name="m"))
    assert snapshot(db_path) == before


def test_external_id_unique_across_models_and_versions(client: ModelRegistryClient,
                                                       db_path: Path) -> None:
    """One external_id can name only one model or version; artifacts are a separate family."""
    client.register_model("a", "s3://a", version="1")
    client.register_model("b", "s3://b", version="1")
    model = client.get_model("a")
    model.external_id = "ext-1"
    client.update_model(model)
    before, pending = snapshot(db_path), client.pending()
    other = client.get_model("b")
    other.external_id = "ext-1"
    with pytest.raises(localhub.DuplicateError, match="ext-1"):
        client.update_model(other)
    version = client.get_model_version("b", "1")
    version.external_id = "ext-1"
    with pytest.raises(localhub.DuplicateError) as info:
        client.update_model_version(version)
    assert isinstance(info.value, localhub.StoreError)
    with pytest.raises(localhub.DuplicateError):
        client.store.create(RegisteredModel(name="c", external_id="ext-1"))
    assert client.get_model("b").external_id is None
    assert snapshot(db_path) == before
    assert client.pending() == pending
    artifact = client.get_model_artifact("b", "1")
    artifact.external_id = "ext-1"
    assert client.update_model_artifact(artifact).external_id == "ext-1"


def test_store_create_version_and_artifact(client: ModelRegistryClient) -> None:
    """store.create builds versions under a model and artifacts under a version, queued."""
    model = client.register_model("m", "s3://x", version="v1")
    assert model.id is not None
    store = client.store
    version = store.create(ModelVersion(name="v2", registered_model_id=model.id, author="z"))
    assert (version.registered_model_id, version.author) == (model.id, "z")
    assert version.id is not None
    artifact = store.create(ModelArtifact(uri="s3://z", state=ArtifactState.LIVE),
                            version_id=version.id)
    assert artifact.name is not None and len(artifact.name) == 36  # a generated UUID
    assert store.artifact_version_id(artifact.id or "") == version.id
    assert [a.id for a in store.version_artifacts(version.id)] == [artifact.id]
    assert summary(client.pending()[3:]) == [
        ("model-version", "create", ("author", "name", "state"), "m", "v2", None),
        ("model-artifact", "create", ("name", "state", "uri"), "m", "v2", artifact.name),
    ]
    with pytest.raises(localhub.NotFoundError):
        store.create(ModelVersion(name="v3", registered_model_id="999"))
    with pytest.raises(localhub.NotFoundError):
        store.create(ModelVersion(name="v3", registered_model_id=version.id))


def test_get_by_id_of_other_type_is_none(client: ModelRegistryClient) -> None:
    """store.get with an id of another entity type (or a malformed id) returns None."""
    model = client.register_model("m", "s3://x", version="v1")
    version = client.get_model_version("m", "v1")
    store = client.store
    assert store.get(RegisteredModel, model.id or "") == model
    assert store.get(RegisteredModel, version.id or "") is None
    assert store.get(ModelVersion, version.id or "") == version
    for bad in ("0", "-1", "abc", "", "99999999999"):
        assert store.get(RegisteredModel, bad) is None


def test_uids_are_unique_time_ordered_hex(tmp_path: Path) -> None:
    """Entity uids: 32 hex digits, increasing with creation time (index locality), unique."""
    store = localhub.SQLiteStore(tmp_path / "u.db")
    for i in range(50):
        store.register_model(f"m{i % 5}", f"s3://b/{i}", version=f"v{i}")
    store.close()
    conn = sqlite3.connect(tmp_path / "u.db")
    uids = [r[0] for r in conn.execute("SELECT uid FROM contexts ORDER BY id")]
    conn.close()
    assert len(uids) == len(set(uids)) == 55
    assert all(len(u) == 32 and int(u, 16) >= 0 for u in uids)
    prefixes = [u[:12] for u in uids]
    assert prefixes == sorted(prefixes)
