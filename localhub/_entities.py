"""How each domain type maps onto the SQLite tables, and conversion between rows and types."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from enum import Enum
from functools import cached_property
from typing import Any

from .errors import InvalidInputError
from .types import (
    ArtifactState,
    BaseResource,
    DataSet,
    DocArtifact,
    ExecutionState,
    InferenceService,
    InferenceServiceState,
    Metric,
    ModelArtifact,
    ModelVersion,
    ModelVersionState,
    Parameter,
    ParameterType,
    RegisteredModel,
    RegisteredModelState,
    ServeModel,
    ServingEnvironment,
    StructValue,
    SupportedTypes,
)
from .validation import (
    MAX_EXTERNAL_ID_LENGTH,
    STANDALONE_PREFIX_LENGTH,
    check_custom_properties,
    check_enum,
    check_name,
    check_optional_text,
    check_owned_name,
    check_uri,
)

__all__ = ["EntitySpec", "SPECS", "spec_for", "encode_properties", "decode_properties"]

_COMMON = ("id", "name", "description", "external_id", "custom_properties",
           "create_time_since_epoch", "last_update_time_since_epoch", "state")


@dataclass(frozen=True)
class EntitySpec:
    """Where one domain type lives: table, kind, parent column and field placement."""

    cls: type[BaseResource]
    table: str
    kind: str
    #: Human name used in messages ("registered model", "model version", ...).
    label: str
    #: Domain field stored in ``parent_id`` (``version_id`` for artifacts), if any.
    parent_field: str | None
    #: Domain fields with a column of their own (besides the common ones).
    columns: tuple[str, ...]
    #: Domain field whose value is kept in the ``state`` column.
    state_field: str | None
    state_enum: type[Enum] | None
    #: Whether the name may be omitted (the store then generates one).
    name_optional: bool = False

    @property
    def parent_column(self) -> str:
        return "version_id" if self.table == "artifacts" else "parent_id"

    @cached_property
    def attr_fields(self) -> tuple[str, ...]:
        """Fields kept in the JSON ``attrs`` column (computed once: it is on every hot path)."""
        skip = set(_COMMON) | set(self.columns) | {self.parent_field, self.state_field}
        return tuple(f.name for f in fields(self.cls) if f.name not in skip)


SPECS: dict[type[BaseResource], EntitySpec] = {
    spec.cls: spec
    for spec in (
        EntitySpec(RegisteredModel, "contexts", RegisteredModel.kind, "registered model", None,
                   ("owner",), "state", RegisteredModelState),
        EntitySpec(ModelVersion, "contexts", ModelVersion.kind, "model version",
                   "registered_model_id", ("author",), "state", ModelVersionState),
        EntitySpec(ServingEnvironment, "contexts", ServingEnvironment.kind, "serving environment",
                   None, (), None, None),
        EntitySpec(InferenceService, "contexts", InferenceService.kind, "inference service",
                   "serving_environment_id", (), None, None, name_optional=True),
        EntitySpec(ModelArtifact, "artifacts", ModelArtifact.kind, "model artifact", None,
                   ("uri",), "state", ArtifactState, name_optional=True),
        EntitySpec(DocArtifact, "artifacts", DocArtifact.kind, "doc artifact", None,
                   ("uri",), "state", ArtifactState, name_optional=True),
        EntitySpec(DataSet, "artifacts", DataSet.kind, "dataset artifact", None,
                   ("uri",), "state", ArtifactState, name_optional=True),
        EntitySpec(Metric, "artifacts", Metric.kind, "metric", None,
                   (), "state", ArtifactState, name_optional=True),
        EntitySpec(Parameter, "artifacts", Parameter.kind, "parameter", None,
                   (), "state", ArtifactState, name_optional=True),
        EntitySpec(ServeModel, "executions", ServeModel.kind, "serve model",
                   "inference_service_id", (), "last_known_state", ExecutionState,
                   name_optional=True),
    )
}
SPECS_BY_KIND: dict[str, EntitySpec] = {spec.kind: spec for spec in SPECS.values()}

_ENUM_FIELDS: dict[str, type[Enum]] = {
    "desired_state": InferenceServiceState,
    "parameter_type": ParameterType,
}


#: ``json.dumps(x, separators=(",", ":"), ensure_ascii=False)`` without building an encoder
#: per call (it is on every write).
compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def spec_for(entity: BaseResource | type[BaseResource]) -> EntitySpec:
    """The spec of a domain object or class (TypeError for anything else)."""
    cls = entity if isinstance(entity, type) else type(entity)
    try:
        return SPECS[cls]
    except KeyError:
        raise TypeError(f"not a registry entity type: {cls.__name__}") from None


def encode_properties(props: dict[str, SupportedTypes]) -> str:
    """Custom properties as stored: ``{"key": {"int_value": 3}}``."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in props.items():
        if isinstance(value, bool):
            out[key] = {"bool_value": value}
        elif isinstance(value, int):
            out[key] = {"int_value": value}
        elif isinstance(value, float):
            out[key] = {"double_value": value}
        elif isinstance(value, StructValue):
            out[key] = {"struct_value": str(value)}
        else:
            out[key] = {"string_value": value}
    return compact_json(out)


def decode_properties(text: str) -> dict[str, SupportedTypes]:
    """Inverse of :func:`encode_properties`."""
    out: dict[str, SupportedTypes] = {}
    for key, cell in json.loads(text).items():
        if "struct_value" in cell:
            out[key] = StructValue(cell["struct_value"])
        elif "int_value" in cell:
            out[key] = int(cell["int_value"])
        elif "double_value" in cell:
            out[key] = float(cell["double_value"])
        elif "bool_value" in cell:
            out[key] = bool(cell["bool_value"])
        else:
            out[key] = str(cell.get("string_value", ""))
    return out


def _field_checker(spec: EntitySpec, field_name: str) -> Any:
    """The check of one ``columns``/``attr_fields`` field: ``check(value) -> normalised``."""
    where = f"{spec.cls.__name__}.{field_name}"
    if field_name in _ENUM_FIELDS:
        enum = _ENUM_FIELDS[field_name]
        return lambda value: None if value is None else check_enum(where, value, enum)
    if field_name == "uri":
        return lambda value: check_uri(where, value, required=False)
    if field_name in ("language", "tasks"):
        def check_list(value: Any) -> list[str] | None:
            if value is None:
                return None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidInputError(where, "must be a list of strings")
            for item in value:
                check_optional_text(where, item)
            return list(value)
        return check_list
    if field_name == "value" and spec.cls is Metric:
        def check_number(value: Any) -> float | None:
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                raise InvalidInputError(where, "must be a number")
            return None if value is None else float(value)
        return check_number
    if field_name in ("registered_model_id", "model_version_id", "serving_environment_id",
                      "inference_service_id"):
        return lambda value: None if value is None else check_id(where, value)
    # Every other field is a property: ``string_value MEDIUMTEXT`` on the server.
    return lambda value: check_optional_text(where, value)


_CHECKERS: dict[type[BaseResource], tuple[tuple[str, Any], ...]] = {}


def validated_values(spec: EntitySpec, entity: BaseResource) -> dict[str, Any]:
    """Every mutable field of ``entity`` checked and normalised, keyed by domain field name."""
    label = spec.cls.__name__
    values: dict[str, Any] = {}
    name = getattr(entity, "name", None)
    if name is None and spec.name_optional:
        values["name"] = None
    else:
        values["name"] = check_name(f"{label}.name", name, allow_empty=spec.table == "artifacts")
    if entity.description is None:
        values["description"] = None
    else:
        values["description"] = check_optional_text(f"{label}.description", entity.description)
    # An empty external id is a value like any other (the spec declares a plain string and
    # the server stores it): it is unique like the others.
    values["external_id"] = check_optional_text(
        f"{label}.external_id", entity.external_id, long=False,
        max_chars=MAX_EXTERNAL_ID_LENGTH)
    values["custom_properties"] = check_custom_properties(
        f"{label}.custom_properties", entity.custom_properties
    )
    if spec.state_field is not None and spec.state_enum is not None:
        state = getattr(entity, spec.state_field)
        values[spec.state_field] = (
            None if state is None else check_enum(f"{label}.{spec.state_field}", state,
                                                   spec.state_enum)
        )
    checkers = _CHECKERS.get(spec.cls)
    if checkers is None:
        checkers = _CHECKERS[spec.cls] = tuple(
            (f, _field_checker(spec, f)) for f in spec.columns + spec.attr_fields)
    for field_name, check in checkers:
        value = getattr(entity, field_name)
        values[field_name] = None if value is None else check(value)
    if spec.parent_field is not None:
        # Kept out of ``attr_fields`` (it has its own column) but the store needs it on create.
        parent = getattr(entity, spec.parent_field)
        values[spec.parent_field] = None if parent is None else check_id(
            f"{label}.{spec.parent_field}", parent)
    return values


def check_stored_name(spec: EntitySpec, name: str, parent: int) -> None:
    """The name fits the server's column once prefixed with its owner (a version's model id,
    an artifact's version id or, for an artifact of no version, a UUID)."""
    if spec.table == "artifacts":
        prefix = len(str(parent)) if parent else STANDALONE_PREFIX_LENGTH
    elif spec.parent_field is not None:
        prefix = len(str(parent))
    else:
        return
    check_owned_name(f"{spec.cls.__name__}.name", name, prefix)


def check_id(field: str, value: object) -> str:
    """An entity id: a decimal string (or int) of a positive 32-bit integer."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (not isinstance(text, str) or not text.isascii() or not text.isdigit()
            or not 0 < int(text) < 2**31):
        raise InvalidInputError(field, f"must be a positive decimal id, got {value!r}")
    return str(int(text))


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def row_values(spec: EntitySpec, values: dict[str, Any]) -> dict[str, Any]:
    """Column values for a row (without ids, parent, times and uid)."""
    row: dict[str, Any] = {
        "kind": spec.kind,
        "name": values["name"],
        "description": values["description"],
        "external_id": values["external_id"],
        "custom_properties": encode_properties(values["custom_properties"]),
        "state": _enum_value(values.get(spec.state_field)) if spec.state_field else None,
    }
    for column in spec.columns:
        row[column] = values[column]
    attrs = {f: _enum_value(values[f]) for f in spec.attr_fields if values.get(f) is not None}
    row["attrs"] = compact_json(attrs)
    return row


def from_row(spec: EntitySpec, row: Any) -> BaseResource:
    """A domain object from a row (a ``sqlite3.Row``)."""
    kwargs: dict[str, Any] = {
        "id": str(row["id"]),
        "name": row["name"],
        "description": row["description"],
        "external_id": row["external_id"],
        "create_time_since_epoch": str(row["create_time"]),
        "last_update_time_since_epoch": str(row["update_time"]),
        # Empty maps read back as None, as the official client's types do.
        "custom_properties": decode_properties(row["custom_properties"]) or None,
    }
    if spec.state_field is not None and spec.state_enum is not None:
        state = row["state"]
        kwargs[spec.state_field] = None if state is None else spec.state_enum(state)
    for column in spec.columns:
        kwargs[column] = row[column]
    if spec.parent_field is not None:
        parent = row[spec.parent_column]
        kwargs[spec.parent_field] = str(parent) if parent else None
    attrs = json.loads(row["attrs"])
    for field_name in spec.attr_fields:
        value = attrs.get(field_name)
        if value is not None and field_name in _ENUM_FIELDS:
            value = _ENUM_FIELDS[field_name](value)
        kwargs[field_name] = value
    return spec.cls(**kwargs)
