"""`localhub kserve NAME VERSION`: KServe InferenceService manifests."""

from __future__ import annotations

import json

import pytest

from localhub.kserve import service_name, to_yaml
from localhub.store import SQLiteStore
from localhub.types import ModelVersion, RegisteredModel

from tests.support.cli import Invoke

yaml = pytest.importorskip("yaml")


def _ids(store: SQLiteStore, name: str, version: str) -> tuple[str, str]:
    """The local ids of a model and one of its versions."""
    model = store.find(RegisteredModel, name=name)
    assert model is not None and model.id is not None
    mv = store.find(ModelVersion, name=version, parent_id=model.id)
    assert mv is not None and mv.id is not None
    return model.id, mv.id


def test_yaml_manifest(invoke: Invoke, store: SQLiteStore) -> None:
    """The YAML parses to an InferenceService with format, storageUri, labels and runtime."""
    store.register_model("Fraud_Detector", "s3://models/fraud/3", version="3.0.0",
                         model_format_name="onnx", model_format_version="1")
    result = invoke("kserve", "Fraud_Detector", "3.0.0", "--namespace", "models",
                    "--runtime", "kserve-onnxruntime")
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.stdout)
    model_id, version_id = _ids(store, "Fraud_Detector", "3.0.0")
    assert doc["apiVersion"] == "serving.kserve.io/v1beta1"
    assert doc["kind"] == "InferenceService"
    assert doc["metadata"]["name"] == "fraud-detector-3-0-0"
    assert doc["metadata"]["namespace"] == "models"
    assert doc["metadata"]["labels"] == {
        "modelregistry.kubeflow.org/registered-model-id": model_id,
        "modelregistry.kubeflow.org/model-version-id": version_id}
    assert doc["spec"]["predictor"]["model"] == {
        "modelFormat": {"name": "onnx", "version": "1"}, "runtime": "kserve-onnxruntime",
        "storageUri": "s3://models/fraud/3"}
    assert result.stderr == ""


def test_json_equals_yaml(invoke: Invoke, store: SQLiteStore) -> None:
    """--json prints the same manifest as the YAML form."""
    store.register_model("m", "s3://b/m", version="1", model_format_name="sklearn")
    as_yaml = yaml.safe_load(invoke("kserve", "m", "1").stdout)
    assert json.loads(invoke("kserve", "m", "1", "--json").stdout) == as_yaml


def test_storage_key_and_service_account(invoke: Invoke, store: SQLiteStore) -> None:
    """storage_key/path become spec.predictor.model.storage; the account serviceAccountName."""
    store.register_model("m", "s3://b/m", version="1", model_format_name="onnx",
                         artifact_fields={"storage_key": "aws-conn", "storage_path": "m/1",
                                          "service_account_name": "sa-models"})
    doc = json.loads(invoke("kserve", "m", "1", "--json").stdout)
    predictor = doc["spec"]["predictor"]
    assert predictor["model"]["storage"] == {"key": "aws-conn", "path": "m/1"}
    assert "storageUri" not in predictor["model"]
    assert predictor["serviceAccountName"] == "sa-models"


def test_file_uri_warns(invoke: Invoke, store: SQLiteStore) -> None:
    """A file:// URI still gives a manifest, with a warning on stderr."""
    store.register_model("m", "file:///data/m/1", version="1", model_format_name="onnx")
    result = invoke("kserve", "m", "1")
    assert result.exit_code == 0 and "warning: storageUri file:///data/m/1" in result.stderr


def test_missing_format_is_an_error(invoke: Invoke, store: SQLiteStore) -> None:
    """A version without a model format: exit 1 and how to set one."""
    store.register_model("m", "s3://b/m", version="1")
    result = invoke("kserve", "m", "1")
    assert result.exit_code == 1
    assert result.stderr == ("error: m 1 has no model format, which KServe needs; set it with "
                             "`localhub update m 1 --format FORMAT`\n")


def test_missing_model_and_version(invoke: Invoke, store: SQLiteStore) -> None:
    """Unknown model or version: one error line naming the listing command to use."""
    assert invoke("kserve", "nope", "1").stderr == \
        "error: no model named 'nope'; see `localhub models`\n"
    store.register_model("m", "s3://b/m", version="1", model_format_name="onnx")
    result = invoke("kserve", "m", "9")
    assert result.exit_code == 1 and "see `localhub versions m`" in result.stderr


def test_bad_namespace_is_refused(invoke: Invoke, store: SQLiteStore) -> None:
    """A namespace that is not a DNS label is an error, not a broken manifest."""
    store.register_model("m", "s3://b/m", version="1", model_format_name="onnx")
    result = invoke("kserve", "m", "1", "-n", "Bad_NS")
    assert result.exit_code == 1 and "invalid namespace 'Bad_NS'" in result.stderr


@pytest.mark.parametrize(("model", "version", "expected"), [
    ("resnet", "1", "resnet-1"),
    ("My Model", "v2.0", "my-model-v2-0"),
    ("7up", "1", "m-7up-1"),
    ("--x--", "--", "x"),
])
def test_service_name(model: str, version: str, expected: str) -> None:
    """Names are lowercased, runs of other characters become '-', and start with a letter."""
    assert service_name(model, version) == expected


def test_long_service_names_stay_distinct() -> None:
    """Names longer than 63 characters are cut and keep a hash of the full name."""
    a, b = service_name("x" * 100, "1"), service_name("x" * 100, "2")
    assert len(a) <= 63 and len(b) <= 63 and a != b


@pytest.mark.parametrize("value", ['a "quoted": value', "#not a comment", "- dash", "yes",
                                   "null", "1.0", "line\nbreak", "tab\tand\\back", "ünïcode",
                                   "{flow}", "&anchor *alias", "", " padded "])
def test_yaml_scalars_round_trip(value: str) -> None:
    """Hand-written YAML keeps tricky strings exactly (checked with PyYAML)."""
    data = {"metadata": {"annotations": {"a/b": value, "odd key: #": value}}, "list": [value]}
    assert yaml.safe_load(to_yaml(data)) == data
