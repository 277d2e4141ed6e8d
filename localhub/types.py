"""Domain types shared by the local store, the REST layer and the sync engine.

They mirror ``model_registry.types`` field for field (snake_case names, ids and epoch-ms
times as strings, the same state enums), so code written for the official client reads and
writes them unchanged. They are plain dataclasses: cheap to build and free of I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

__all__ = [
    "SupportedTypes",
    "StructValue",
    "RegisteredModelState",
    "ModelVersionState",
    "ArtifactState",
    "InferenceServiceState",
    "ExecutionState",
    "ParameterType",
    "BaseResource",
    "RegisteredModel",
    "ModelVersion",
    "Artifact",
    "ModelArtifact",
    "DocArtifact",
    "DataSet",
    "Metric",
    "Parameter",
    "ServingEnvironment",
    "InferenceService",
    "ServeModel",
    "ARTIFACT_TYPES",
]


class StructValue(str):
    """A custom property that the REST API carries as a JSON object (``MetadataStructValue``).

    It is a ``str`` holding the JSON text, as the official client exposes it, but keeps its
    kind so that the store and the wire codec can round-trip it as a struct.
    """

    __slots__ = ()


SupportedTypes = bool | int | float | str


class RegisteredModelState(str, Enum):
    """State of a registered model."""

    LIVE = "LIVE"
    ARCHIVED = "ARCHIVED"


class ModelVersionState(str, Enum):
    """State of a model version."""

    LIVE = "LIVE"
    ARCHIVED = "ARCHIVED"


class ArtifactState(str, Enum):
    """State of an artifact."""

    UNKNOWN = "UNKNOWN"
    PENDING = "PENDING"
    LIVE = "LIVE"
    MARKED_FOR_DELETION = "MARKED_FOR_DELETION"
    DELETED = "DELETED"
    ABANDONED = "ABANDONED"
    REFERENCE = "REFERENCE"


class InferenceServiceState(str, Enum):
    """Desired state of an inference service."""

    DEPLOYED = "DEPLOYED"
    UNDEPLOYED = "UNDEPLOYED"


class ExecutionState(str, Enum):
    """Last known state of a serve-model execution."""

    UNKNOWN = "UNKNOWN"
    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CACHED = "CACHED"
    CANCELED = "CANCELED"


class ParameterType(str, Enum):
    """Value type of a parameter artifact."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    OBJECT = "object"


@dataclass(kw_only=True)
class BaseResource:
    """Fields every registry entity has."""

    id: str | None = None
    description: str | None = None
    external_id: str | None = None
    create_time_since_epoch: str | None = None
    last_update_time_since_epoch: str | None = None
    custom_properties: Mapping[str, SupportedTypes] | None = None

    #: The JSON ``artifactType`` / entity kind this class stands for.
    kind: ClassVar[str] = ""


@dataclass(kw_only=True)
class RegisteredModel(BaseResource):
    """A named model that has versions."""

    name: str
    owner: str | None = None
    state: RegisteredModelState = RegisteredModelState.LIVE
    # Catalogue fields of the REST API; the official Python type drops them, we keep them so
    # that nothing pulled from a remote or posted to ``serve`` is lost.
    readme: str | None = None
    maturity: str | None = None
    language: list[str] | None = None
    tasks: list[str] | None = None
    provider: str | None = None
    logo: str | None = None
    license: str | None = None
    license_link: str | None = None
    library_name: str | None = None

    kind: ClassVar[str] = "registered-model"


@dataclass(kw_only=True)
class ModelVersion(BaseResource):
    """One version of a registered model."""

    name: str
    author: str | None = None
    state: ModelVersionState = ModelVersionState.LIVE
    registered_model_id: str | None = None

    kind: ClassVar[str] = "model-version"


@dataclass(kw_only=True)
class Artifact(BaseResource):
    """Base of every artifact type."""

    name: str | None = None
    state: ArtifactState = ArtifactState.UNKNOWN


@dataclass(kw_only=True)
class ModelArtifact(Artifact):
    """Where a model version's files live, and how to serve them."""

    uri: str | None = None
    model_format_name: str | None = None
    model_format_version: str | None = None
    storage_key: str | None = None
    storage_path: str | None = None
    service_account_name: str | None = None
    model_source_kind: str | None = None
    model_source_class: str | None = None
    model_source_group: str | None = None
    model_source_id: str | None = None
    model_source_name: str | None = None

    kind: ClassVar[str] = "model-artifact"


@dataclass(kw_only=True)
class DocArtifact(Artifact):
    """A document attached to a model version."""

    uri: str | None = None

    kind: ClassVar[str] = "doc-artifact"


@dataclass(kw_only=True)
class DataSet(Artifact):
    """A data set used by a model version."""

    uri: str | None = None
    digest: str | None = None
    source_type: str | None = None
    source: str | None = None
    schema: str | None = None
    profile: str | None = None

    kind: ClassVar[str] = "dataset-artifact"


@dataclass(kw_only=True)
class Metric(Artifact):
    """A metric recorded for a model version."""

    value: float | None = None
    timestamp: str | None = None
    step: str | None = None

    kind: ClassVar[str] = "metric"


@dataclass(kw_only=True)
class Parameter(Artifact):
    """A parameter recorded for a model version."""

    value: str | None = None
    parameter_type: ParameterType | None = None

    kind: ClassVar[str] = "parameter"


@dataclass(kw_only=True)
class ServingEnvironment(BaseResource):
    """A place where models are served (a namespace, a cluster)."""

    name: str

    kind: ClassVar[str] = "serving-environment"


@dataclass(kw_only=True)
class InferenceService(BaseResource):
    """A deployment of a registered model in a serving environment."""

    name: str | None = None
    registered_model_id: str
    serving_environment_id: str
    model_version_id: str | None = None
    runtime: str | None = None
    desired_state: InferenceServiceState | None = None

    kind: ClassVar[str] = "inference-service"


@dataclass(kw_only=True)
class ServeModel(BaseResource):
    """One model version served by an inference service."""

    name: str | None = None
    model_version_id: str
    last_known_state: ExecutionState | None = None
    inference_service_id: str | None = None

    kind: ClassVar[str] = "serve-model"


#: artifactType discriminator -> domain class.
ARTIFACT_TYPES: dict[str, type[Artifact]] = {
    cls.kind: cls for cls in (ModelArtifact, DocArtifact, DataSet, Metric, Parameter)
}

