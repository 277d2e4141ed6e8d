"""Domain types shared by the local store, the REST layer and the sync engine.

They mirror ``model_registry.types`` field for field (snake_case names, ids and epoch-ms
times as strings, the same state enums), so code written for the official client reads and
writes them unchanged. They are plain dataclasses: cheap to build and free of I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar, Literal

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
    "CP",
    "FieldFacts",
    "ValueKind",
    "facts",
]

#: The custom properties field (and the prefix of a per-key field name, ``custom_properties.k``).
CP = "custom_properties"

#: What a field's value is, which decides how it is checked and encoded:
#: ``text`` a property (MEDIUMTEXT), ``short`` a 255-character column (external ids), ``name``,
#: ``uri`` an artifact location (TEXT, no controls), ``link`` a ``format: uri`` string,
#: ``id`` an entity id, ``int64`` a 64-bit integer as a string, ``number`` a float,
#: ``strings`` a list of strings, ``enum``, ``properties`` (custom properties), ``time``.
ValueKind = Literal["text", "short", "name", "uri", "link", "id", "int64", "number", "strings",
                    "enum", "properties", "time"]


@dataclass(frozen=True)
class FieldFacts:
    """Everything the store, the wire codec, filters, snapshots and bundles know of one field."""

    value: ValueKind = "text"
    #: A client may set it in a create body / an update (PATCH) body.
    create: bool = True
    update: bool = True
    #: Required (and not empty) in a create body.
    required: bool = False
    #: Part of the REST response schema (False: kept locally, never sent nor shown).
    wire: bool = True
    #: The SQLite column holding it; None: a key of the ``attrs`` JSON column.
    column: str | None = None
    enum: type[Enum] | None = None
    #: How ``filterQuery`` compares it: ``int`` (numeric strings converted), ``text`` or
    #: ``json`` (the attrs value as stored); None: not a filterable field.
    filter: Literal["int", "text", "json"] | None = None
    #: A link to another entity (its parent or a reference): not content of its own.
    ref: bool = False

    @property
    def read_only(self) -> bool:
        """Set by the server: on the wire, never in a request body."""
        return self.wire and not self.create and not self.update


def _f(default: Any = None, **kwargs: Any) -> Any:
    """A dataclass field carrying its :class:`FieldFacts` (``default=MISSING``: required)."""
    return field(default=default, metadata={"facts": FieldFacts(**kwargs)})


def facts(cls: type[Any]) -> dict[str, FieldFacts]:
    """Field name -> facts of a domain class, in declaration order."""
    found: dict[str, FieldFacts] | None = _FACTS.get(cls)
    if found is None:
        found = _FACTS[cls] = {f.name: f.metadata.get("facts", FieldFacts())
                               for f in fields(cls)}
    return found


_FACTS: dict[type[Any], dict[str, FieldFacts]] = {}


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

    id: str | None = _f(value="id", create=False, update=False, column="id", filter="int")
    description: str | None = _f(column="description")
    external_id: str | None = _f(value="short", column="external_id", filter="text")
    create_time_since_epoch: str | None = _f(value="time", create=False, update=False,
                                             column="create_time", filter="int")
    last_update_time_since_epoch: str | None = _f(value="time", create=False, update=False,
                                                  column="update_time", filter="int")
    custom_properties: Mapping[str, SupportedTypes] | None = _f(value="properties", column=CP)

    #: The JSON ``artifactType`` / entity kind this class stands for.
    kind: ClassVar[str] = ""


def _name(*, required: bool) -> Any:
    """The ``name`` field: set on create only; required for the entities that need one."""
    return _f(MISSING if required else None, value="name", update=False, required=required,
              column="name", filter="text")


def _state(enum: type[Enum], default: Any) -> Any:
    """A state kept in the ``state`` column."""
    return _f(default, value="enum", enum=enum, column="state", filter="text")


def _parent(*, filter: Literal["int", "text"] | None = "int", wire: bool = True,
            required: bool = True) -> Any:
    """The id of the entity's owner, kept in ``parent_id`` and set on create only."""
    return _f(MISSING if required else None, value="id", update=False, required=required,
              wire=wire, create=wire, column="parent_id", filter=filter, ref=True)


@dataclass(kw_only=True)
class RegisteredModel(BaseResource):
    """A named model that has versions."""

    name: str = _name(required=True)
    owner: str | None = _f(column="owner", filter="text")
    state: RegisteredModelState = _state(RegisteredModelState, RegisteredModelState.LIVE)
    # Catalogue fields of the REST API; the official Python type drops them, we keep them so
    # that nothing pulled from a remote or posted to ``serve`` is lost.
    readme: str | None = _f()
    maturity: str | None = _f()
    language: list[str] | None = _f(value="strings")
    tasks: list[str] | None = _f(value="strings")
    provider: str | None = _f()
    logo: str | None = _f(value="link")
    license: str | None = _f()
    license_link: str | None = _f(value="link")
    library_name: str | None = _f()

    kind: ClassVar[str] = "registered-model"


@dataclass(kw_only=True)
class ModelVersion(BaseResource):
    """One version of a registered model."""

    name: str = _name(required=True)
    author: str | None = _f(column="author", filter="text")
    state: ModelVersionState = _state(ModelVersionState, ModelVersionState.LIVE)
    # Required on the wire; optional here because the facades fill it in from the model.
    registered_model_id: str | None = _f(value="id", update=False, required=True,
                                         column="parent_id", filter="int", ref=True)

    kind: ClassVar[str] = "model-version"


@dataclass(kw_only=True)
class Artifact(BaseResource):
    """Base of every artifact type."""

    name: str | None = _name(required=False)
    state: ArtifactState = _state(ArtifactState, ArtifactState.UNKNOWN)


def _uri() -> Any:
    """An artifact's location, in the ``uri`` column."""
    return _f(value="uri", column="uri", filter="text")


def _attr(value: ValueKind = "text", **kwargs: Any) -> Any:
    """A type-specific artifact field, kept in ``attrs`` and filterable as stored."""
    return _f(value=value, filter="json", **kwargs)


@dataclass(kw_only=True)
class ModelArtifact(Artifact):
    """Where a model version's files live, and how to serve them."""

    uri: str | None = _uri()
    model_format_name: str | None = _attr()
    model_format_version: str | None = _attr()
    storage_key: str | None = _attr()
    storage_path: str | None = _attr()
    service_account_name: str | None = _attr()
    model_source_kind: str | None = _attr()
    model_source_class: str | None = _attr()
    model_source_group: str | None = _attr()
    model_source_id: str | None = _attr()
    model_source_name: str | None = _attr()

    kind: ClassVar[str] = "model-artifact"


@dataclass(kw_only=True)
class DocArtifact(Artifact):
    """A document attached to a model version."""

    uri: str | None = _uri()

    kind: ClassVar[str] = "doc-artifact"


@dataclass(kw_only=True)
class DataSet(Artifact):
    """A data set used by a model version."""

    uri: str | None = _uri()
    digest: str | None = _attr()
    source_type: str | None = _attr()
    source: str | None = _attr()
    schema: str | None = _attr()
    profile: str | None = _attr()

    kind: ClassVar[str] = "dataset-artifact"


@dataclass(kw_only=True)
class Metric(Artifact):
    """A metric recorded for a model version."""

    value: float | None = _attr("number")
    timestamp: str | None = _attr("int64")
    step: str | None = _attr("int64")

    kind: ClassVar[str] = "metric"


@dataclass(kw_only=True)
class Parameter(Artifact):
    """A parameter recorded for a model version."""

    value: str | None = _attr()
    parameter_type: ParameterType | None = _attr("enum", enum=ParameterType)

    kind: ClassVar[str] = "parameter"


@dataclass(kw_only=True)
class ServingEnvironment(BaseResource):
    """A place where models are served (a namespace, a cluster)."""

    name: str = _name(required=True)

    kind: ClassVar[str] = "serving-environment"


@dataclass(kw_only=True)
class InferenceService(BaseResource):
    """A deployment of a registered model in a serving environment."""

    name: str | None = _name(required=False)
    registered_model_id: str = _f(MISSING, value="id", update=False, required=True,
                                  filter="text", ref=True)
    serving_environment_id: str = _parent()
    model_version_id: str | None = _f(value="id", filter="text", ref=True)
    runtime: str | None = _f(filter="text")
    desired_state: InferenceServiceState | None = _f(value="enum", enum=InferenceServiceState,
                                                     filter="text")

    kind: ClassVar[str] = "inference-service"


@dataclass(kw_only=True)
class ServeModel(BaseResource):
    """One model version served by an inference service."""

    name: str | None = _name(required=False)
    model_version_id: str = _f(MISSING, value="id", update=False, required=True,
                               filter="text", ref=True)
    last_known_state: ExecutionState | None = _state(ExecutionState, None)
    # Not in the REST schema: the service is the URL's, the store keeps it as the parent.
    inference_service_id: str | None = _parent(filter=None, wire=False, required=False)

    kind: ClassVar[str] = "serve-model"


#: artifactType discriminator -> domain class.
ARTIFACT_TYPES: dict[str, type[Artifact]] = {
    cls.kind: cls for cls in (ModelArtifact, DocArtifact, DataSet, Metric, Parameter)
}

