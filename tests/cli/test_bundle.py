"""`localhub export` / `localhub import`: checksummed air-gap bundles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from localhub.store import SQLiteStore
from localhub.types import ModelArtifact, ModelVersion, RegisteredModel

from tests.support.cli import Invoke


@pytest.fixture
def source(tmp_path: Path) -> SQLiteStore:
    """A second database with two models to export."""
    store = SQLiteStore(tmp_path / "source.db")
    store.register_model("fraud", "s3://models/fraud/1", version="1", model_format_name="onnx",
                         author="alice", owner="alice", version_description="first",
                         metadata={"epochs": 10, "lr": 0.1, "tuned": True, "data": "march"},
                         artifact_fields={"storage_key": "aws", "model_source_id": "42"})
    store.register_model("fraud", "s3://models/fraud/2", version="2", model_format_name="onnx")
    store.register_model("clf", "s3://models/clf/1", version="1", model_format_name="sklearn")
    return store


def _export(invoke: Invoke, source: SQLiteStore, path: Path, *args: str) -> dict[str, Any]:
    """Export from ``source`` with the CLI and return the bundle as data."""
    result = invoke("--db", source.path, "export", str(path), *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _rewrite(path: Path, change: Any) -> None:
    """Apply ``change`` to the bundle's payload and fix its checksum (a valid but odd bundle)."""
    bundle = json.loads(path.read_text())
    change(bundle["payload"])
    canonical = json.dumps(bundle["payload"], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()
    bundle["payload_sha256"] = hashlib.sha256(canonical).hexdigest()
    path.write_text(json.dumps(bundle))


def test_bundle_header(tmp_path: Path, invoke: Invoke, source: SQLiteStore) -> None:
    """The bundle names its format, version, creation time, source database and checksum."""
    bundle = _export(invoke, source, tmp_path / "b.json")
    assert bundle["format"] == "localhub-bundle" and bundle["format_version"] == 1
    assert bundle["source_database_uid"] == source.get_meta("database_uid")
    assert bundle["created_at"].endswith("Z") and bundle["scope"] == "all"
    assert len(bundle["payload_sha256"]) == 64
    assert [m["name"] for m in bundle["payload"]["models"]] == ["clf", "fraud"]


def test_round_trip_creates_everything_and_queues_it(tmp_path: Path, invoke: Invoke,
                                                    source: SQLiteStore, store: SQLiteStore
                                                    ) -> None:
    """Importing into an empty database recreates models, versions, artifacts and types."""
    _export(invoke, source, tmp_path / "b.json")
    result = invoke("import", str(tmp_path / "b.json"))
    assert result.exit_code == 0, result.output
    assert "8 created, 0 already present, 0 conflict(s)" in result.stdout
    model = store.find(RegisteredModel, name="fraud")
    assert model is not None and model.owner == "alice" and model.id is not None
    mv = store.find(ModelVersion, name="1", parent_id=model.id)
    assert mv is not None and mv.description == "first" and mv.id is not None
    assert mv.custom_properties == {"epochs": 10, "lr": 0.1, "tuned": True, "data": "march"}
    assert type(mv.custom_properties["epochs"]) is int
    artifact = store.find(ModelArtifact, name="fraud", parent_id=mv.id)
    assert artifact is not None and artifact.storage_key == "aws"
    assert artifact.model_source_id == "42" and artifact.uri == "s3://models/fraud/1"
    assert len(store.pending()) == 8


def test_importing_twice_changes_nothing(tmp_path: Path, invoke: Invoke, source: SQLiteStore,
                                        store: SQLiteStore) -> None:
    """The second import adopts everything and writes nothing."""
    _export(invoke, source, tmp_path / "b.json")
    assert invoke("import", str(tmp_path / "b.json")).exit_code == 0
    before = (store.pending(), store.list_page(RegisteredModel).items)
    again = invoke("import", str(tmp_path / "b.json"), "--json")
    assert again.exit_code == 0
    data = json.loads(again.stdout)
    assert data["created"] == [] and data["conflicts"] == [] and len(data["adopted"]) == 8
    assert (store.pending(), store.list_page(RegisteredModel).items) == before


def test_import_into_its_own_source_changes_nothing(tmp_path: Path, invoke: Invoke,
                                                    source: SQLiteStore) -> None:
    """A bundle imported back into the database it came from is all adopted."""
    _export(invoke, source, tmp_path / "b.json")
    queued = source.pending()
    result = invoke("--db", source.path, "import", str(tmp_path / "b.json"))
    assert result.exit_code == 0 and source.pending() == queued


def test_differences_are_conflicts_not_overwrites(tmp_path: Path, invoke: Invoke,
                                                  source: SQLiteStore, store: SQLiteStore
                                                  ) -> None:
    """A version that differs here is reported (exit 3) and kept; the rest is imported."""
    store.register_model("fraud", "s3://models/fraud/1", version="1", model_format_name="onnx",
                         author="bob", owner="alice", version_description="mine",
                         metadata={"epochs": 10, "lr": 0.1, "tuned": True, "data": "march"},
                         artifact_fields={"storage_key": "aws", "model_source_id": "42"})
    _export(invoke, source, tmp_path / "b.json")
    result = invoke("import", str(tmp_path / "b.json"))
    assert result.exit_code == 3
    assert "fraud:1" in result.stdout and "author" in result.stdout
    assert "conflicts" in result.stderr
    model = store.find(RegisteredModel, name="fraud")
    assert model is not None and model.id is not None
    mv = store.find(ModelVersion, name="1", parent_id=model.id)
    assert mv is not None and mv.description == "mine" and mv.author == "bob"
    assert store.find(ModelVersion, name="2", parent_id=model.id) is not None
    data = json.loads(invoke("import", str(tmp_path / "b.json"), "--json").stdout)
    assert data["conflicts"] == [{"entity": "model version", "key": "fraud:1",
                                  "fields": ["author", "description"]}]


def test_export_one_model(tmp_path: Path, invoke: Invoke, source: SQLiteStore) -> None:
    """--model limits the bundle to the named models."""
    bundle = _export(invoke, source, tmp_path / "b.json", "--model", "clf")
    assert bundle["scope"] == "models"
    assert [m["name"] for m in bundle["payload"]["models"]] == ["clf"]


def test_export_pending(tmp_path: Path, invoke: Invoke, source: SQLiteStore) -> None:
    """--pending exports what the outbox names (here: everything, nothing is synced yet)."""
    bundle = _export(invoke, source, tmp_path / "b.json", "--pending", "--json")
    assert bundle["scope"] == "pending"
    versions = {(m["name"], v["name"]) for m in bundle["payload"]["models"]
                for v in m["versions"]}
    assert versions == {("fraud", "1"), ("fraud", "2"), ("clf", "1")}


def test_export_unknown_model(tmp_path: Path, invoke: Invoke) -> None:
    """--model with an unknown name is one error line and exit 1; no file is written."""
    result = invoke("export", str(tmp_path / "b.json"), "--model", "nope")
    assert result.exit_code == 1
    assert result.stderr == "error: no model named 'nope'; see `localhub models`\n"
    assert not (tmp_path / "b.json").exists()


def test_export_pending_and_model_is_a_usage_error(tmp_path: Path, invoke: Invoke) -> None:
    """--pending and --model exclude each other (exit 2)."""
    result = invoke("export", str(tmp_path / "b.json"), "--pending", "--model", "m")
    assert result.exit_code == 2 and "not both" in result.stderr


@pytest.mark.parametrize(("damage", "message"), [
    (lambda t: t.replace('"s3://models/fraud/2"', '"s3://models/fraud/9"'), "checksum"),
    (lambda t: t[: len(t) // 2], "truncated"),
    (lambda t: "", "truncated"),
    (lambda t: '{"hello": 1}', "not a localhub bundle"),
    (lambda t: t.replace('"format_version": 1', '"format_version": 2'), "format version 2"),
])
def test_damaged_bundle_is_refused_whole(tmp_path: Path, invoke: Invoke, source: SQLiteStore,
                                         store: SQLiteStore, damage: Any, message: str) -> None:
    """Bad checksum, truncation, wrong format or version: exit 1, one line, nothing written."""
    path = tmp_path / "b.json"
    _export(invoke, source, path)
    path.write_text(damage(path.read_text()))
    result = invoke("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert store.list_page(RegisteredModel).items == [] and store.pending() == []


def test_invalid_entity_refuses_the_whole_bundle(tmp_path: Path, invoke: Invoke,
                                                 source: SQLiteStore, store: SQLiteStore) -> None:
    """One entity the registry refuses (checksum intact) means nothing is imported."""
    path = tmp_path / "b.json"
    _export(invoke, source, path)

    def break_last(payload: dict[str, Any]) -> None:
        payload["models"][-1]["versions"][-1]["state"] = "DELETED"

    _rewrite(path, break_last)
    result = invoke("import", str(path))
    assert result.exit_code == 1 and "state" in result.stderr and "not imported" in result.stderr
    assert store.list_page(RegisteredModel).items == []


def test_unknown_field_is_refused(tmp_path: Path, invoke: Invoke, source: SQLiteStore,
                                  store: SQLiteStore) -> None:
    """A field the bundle format does not know is refused, naming where it is."""
    path = tmp_path / "b.json"
    _export(invoke, source, path)
    _rewrite(path, lambda p: p["models"][0].update(colour="red"))
    result = invoke("import", str(path))
    assert result.exit_code == 1 and "models[0]" in result.stderr
    assert store.list_page(RegisteredModel).items == []


def test_missing_bundle_is_a_usage_error(tmp_path: Path, invoke: Invoke) -> None:
    """import of a file that does not exist exits 2."""
    assert invoke("import", str(tmp_path / "none.json")).exit_code == 2
