"""The wire codec on its own: round trips, request forms and strict decoding."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from localhub.codec import (
    MissingFieldError,
    WireFormatError,
    decode_create,
    decode_update,
    from_json,
    to_json,
    to_request,
)
from localhub.types import (
    ARTIFACT_TYPES,
    Artifact,
    ArtifactState,
    InferenceService,
    Metric,
    ModelArtifact,
    ModelVersion,
    ModelVersionState,
    Parameter,
    ParameterType,
    RegisteredModel,
    ServeModel,
    StructValue,
)

PROPS: dict[str, Any] = {"b": True, "i": -7, "f": 1.5, "s": "x", "st": StructValue('{"a":1}')}


def test_to_json_shapes() -> None:
    """camelCase keys, string ids/times, typed MetadataValues, artifactType on artifacts."""
    rm = RegisteredModel(id="3", name="m", create_time_since_epoch="10",
                         last_update_time_since_epoch="11", custom_properties=PROPS,
                         license_link="https://x", language=["en"])
    out = to_json(rm)
    assert out["id"] == "3" and out["licenseLink"] == "https://x" and out["language"] == ["en"]
    assert out["customProperties"] == {
        "b": {"metadataType": "MetadataBoolValue", "bool_value": True},
        "i": {"metadataType": "MetadataIntValue", "int_value": "-7"},
        "f": {"metadataType": "MetadataDoubleValue", "double_value": 1.5},
        "s": {"metadataType": "MetadataStringValue", "string_value": "x"},
        "st": {"metadataType": "MetadataStructValue", "struct_value": '{"a":1}'},
    }
    assert to_json(Metric(name="acc", value=0.5, step="2"))["artifactType"] == "metric"
    assert to_json(ModelVersion(name="v"))["customProperties"] == {}
    assert "inferenceServiceId" not in to_json(ServeModel(model_version_id="1",
                                                          inference_service_id="2"))


@pytest.mark.parametrize("entity", [
    RegisteredModel(id="1", name="m", owner="o", custom_properties=PROPS, tasks=["t"]),
    ModelVersion(id="2", name="v", registered_model_id="1", state=ModelVersionState.ARCHIVED),
    ModelArtifact(id="3", name="a", uri="s3://x", state=ArtifactState.LIVE,
                  model_source_kind="k"),
    Metric(id="4", name="acc", value=0.25, timestamp="5", step="6"),
    Parameter(id="5", name="lr", value="0.1", parameter_type=ParameterType.NUMBER),
    InferenceService(id="6", registered_model_id="1", serving_environment_id="2",
                     runtime="r"),
])
def test_round_trip(entity: Any) -> None:
    """from_json(to_json(x)) == x for every entity family (Artifact dispatches on type)."""
    cls = type(entity)
    assert from_json(cls, to_json(entity)) == entity
    if cls in ARTIFACT_TYPES.values():
        assert from_json(Artifact, to_json(entity)) == entity  # type: ignore[arg-type]


def test_to_request_encodes_structs_as_base64() -> None:
    """Request bodies carry structs as base64 and leave out read-only and immutable fields."""
    mv = ModelVersion(id="2", name="v", registered_model_id="1", custom_properties=PROPS,
                      create_time_since_epoch="1")
    create = to_request(mv)
    assert "id" not in create and "createTimeSinceEpoch" not in create
    encoded = create["customProperties"]["st"]["struct_value"]
    assert json.loads(base64.b64decode(encoded)) == {"a": 1}
    update = to_request(mv, mode="update")
    assert "name" not in update and "registeredModelId" not in update
    assert decode_create(ModelVersion, create).custom_properties == PROPS
    assert decode_update(ModelVersion, update)["custom_properties"] == PROPS


def test_strict_decoding() -> None:
    """Unknown keys and bad values raise WireFormatError; missing required MissingFieldError."""
    with pytest.raises(WireFormatError, match="unknown field"):
        decode_create(RegisteredModel, {"name": "m", "x": 1})
    with pytest.raises(MissingFieldError):
        decode_create(ModelVersion, {"name": "v"})
    with pytest.raises(WireFormatError, match="nine digits"):
        decode_create(RegisteredModel, {"name": "m", "customProperties": {
            "k": {"metadataType": "MetadataIntValue", "int_value": "1000000000"}}})
    with pytest.raises(WireFormatError, match="not supported"):
        decode_create(RegisteredModel, {"name": "m", "customProperties": {
            "k": {"metadataType": "MetadataProtoValue", "type": "t", "proto_value": ""}}})
    with pytest.raises(WireFormatError, match="artifactType"):
        decode_create(ModelArtifact, {"artifactType": "metric"})
    with pytest.raises(WireFormatError, match="URI"):
        decode_create(RegisteredModel, {"name": "m", "logo": "not a uri"})
    assert decode_create(Metric, {"artifactType": "metric", "junk": 1}, strict=False) == Metric()
    assert decode_update(RegisteredModel, {"description": None}) == {}
