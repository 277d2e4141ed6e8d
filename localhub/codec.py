"""The one wire codec: domain types <-> the Model Registry REST JSON.

Wire rules (official v1 spec): camelCase keys, ids and epoch-ms times as decimal strings,
``customProperties`` as a ``MetadataValue`` union (``int_value`` is a string of at most nine
digits; ``struct_value`` is base64 of a JSON object on input and the raw JSON text on output),
and ``artifactType`` as the artifact discriminator.

* :func:`to_json` renders an entity as the server returns it.
* :func:`to_request` renders an entity as a create or update body (what a client sends).
* :func:`from_json` reads a server response leniently (unknown keys ignored).
* :func:`decode_create` / :func:`decode_update` read request bodies strictly, per spec schema:
  a malformed body raises :class:`WireFormatError` (HTTP 400), a missing required field
  :class:`MissingFieldError` (HTTP 422).

Standard library only, so that both ``localhub serve`` and the sync engine's REST client use it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import fields, replace
from enum import Enum
from typing import Any, TypeVar, cast

from .errors import LocalHubError
from .types import (
    ARTIFACT_TYPES,
    Artifact,
    ArtifactState,
    BaseResource,
    ExecutionState,
    InferenceService,
    InferenceServiceState,
    Metric,
    ModelVersion,
    ModelVersionState,
    ParameterType,
    RegisteredModel,
    RegisteredModelState,
    ServeModel,
    ServingEnvironment,
    StructValue,
    SupportedTypes,
)

__all__ = [
    "ID_PATTERN",
    "MissingFieldError",
    "UnknownFieldError",
    "WireFormatError",
    "artifact_class",
    "camel",
    "decode_create",
    "decode_properties",
    "decode_update",
    "encode_properties",
    "from_json",
    "to_json",
    "to_request",
]

T = TypeVar("T", bound=BaseResource)

#: Entity ids on the wire (``^[1-9][0-9]{0,8}$`` in the spec; we accept any positive int32).
ID_PATTERN = re.compile(r"[0-9]{1,10}")
_INT_VALUE = re.compile(r"-?(?:[1-9][0-9]{0,8}|0)")
_INT64 = re.compile(r"-?[0-9]{1,19}")
#: ``format: uri`` (RFC 3986): a scheme, then no spaces, no controls, valid %-escapes.
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*")
_URI_FIELDS = {"logo", "license_link"}


class WireFormatError(LocalHubError, ValueError):
    """A request body does not match its schema (HTTP 400); ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class MissingFieldError(WireFormatError):
    """A required field is missing or empty (HTTP 422, as the Go server answers).

    The message is the Go server's verbatim (``RequiredError`` in kubeflow/model-registry
    ``internal/server/openapi/error.go``): clients show it and tests compare it.
    """


class UnknownFieldError(WireFormatError):
    """A key the schema does not have (HTTP 400); the message is Go's ``encoding/json``
    ``DisallowUnknownFields`` text, as the server's controllers decode concrete bodies with it
    (``internal/server/openapi/api_model_registry_service.go``)."""


def camel(name: str) -> str:
    """``snake_case`` -> ``camelCase``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# -- schema tables ---------------------------------------------------------------------------

_BASE_CREATE = ("name", "description", "external_id", "custom_properties")
_BASE_UPDATE = ("description", "external_id", "custom_properties")
_READ_ONLY = ("id", "create_time_since_epoch", "last_update_time_since_epoch")
_RM_FIELDS = ("readme", "maturity", "language", "tasks", "provider", "logo", "license",
              "license_link", "library_name", "owner", "state")


def _own(cls: type[BaseResource]) -> tuple[str, ...]:
    """Type-specific fields of an artifact class (everything but the common ones)."""
    skip = set(_BASE_CREATE) | set(_READ_ONLY)
    return tuple(f.name for f in fields(cls) if f.name not in skip)


#: cls -> (create fields, update fields, required on create). Field names are domain names.
_SCHEMAS: dict[type[BaseResource], tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    RegisteredModel: (_BASE_CREATE + _RM_FIELDS, _BASE_UPDATE + _RM_FIELDS, ("name",)),
    ModelVersion: (_BASE_CREATE + ("state", "author", "registered_model_id"),
                   _BASE_UPDATE + ("state", "author"), ("name", "registered_model_id")),
    ServingEnvironment: (_BASE_CREATE, _BASE_UPDATE, ("name",)),
    InferenceService: (
        _BASE_CREATE + ("model_version_id", "runtime", "desired_state", "registered_model_id",
                        "serving_environment_id"),
        _BASE_UPDATE + ("model_version_id", "runtime", "desired_state"),
        ("registered_model_id", "serving_environment_id"),
    ),
    ServeModel: (_BASE_CREATE + ("last_known_state", "model_version_id"),
                 _BASE_UPDATE + ("last_known_state",), ("model_version_id",)),
    **{cls: (_BASE_CREATE + _own(cls), _BASE_UPDATE + _own(cls), ())
       for cls in ARTIFACT_TYPES.values()},
}
#: Fields that exist on the domain type but not in the spec's response schema.
_HIDDEN: dict[type[BaseResource], tuple[str, ...]] = {ServeModel: ("inference_service_id",)}
_ID_FIELDS = {"registered_model_id", "model_version_id", "serving_environment_id",
              "inference_service_id"}
_INT64_FIELDS = {"timestamp", "step"}
_LIST_FIELDS = {"language", "tasks"}
_ENUMS: dict[str, type[Enum]] = {
    "desired_state": InferenceServiceState,
    "parameter_type": ParameterType,
    "last_known_state": ExecutionState,
}
_STATE_ENUMS: dict[type[BaseResource], type[Enum]] = {
    RegisteredModel: RegisteredModelState,
    ModelVersion: ModelVersionState,
    **{cls: ArtifactState for cls in ARTIFACT_TYPES.values()},
}


def artifact_class(artifact_type: object) -> type[Artifact]:
    """The artifact class of an ``artifactType`` value (WireFormatError when unknown)."""
    if isinstance(artifact_type, str) and artifact_type in ARTIFACT_TYPES:
        return ARTIFACT_TYPES[artifact_type]
    allowed = ", ".join(ARTIFACT_TYPES)
    raise WireFormatError(f"invalid artifact type {artifact_type!r}: expected one of {allowed}",
                          field="artifactType")


# -- custom properties -----------------------------------------------------------------------


def encode_properties(props: Mapping[str, SupportedTypes] | None, *, request: bool = False
                      ) -> dict[str, dict[str, Any]]:
    """``customProperties`` on the wire; ``request`` encodes structs as base64 (input form)."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in (props or {}).items():
        if isinstance(value, bool):
            out[key] = {"metadataType": "MetadataBoolValue", "bool_value": value}
        elif isinstance(value, int):
            out[key] = {"metadataType": "MetadataIntValue", "int_value": str(value)}
        elif isinstance(value, float):
            out[key] = {"metadataType": "MetadataDoubleValue", "double_value": value}
        elif isinstance(value, StructValue):
            text = base64.b64encode(str(value).encode()).decode() if request else str(value)
            out[key] = {"metadataType": "MetadataStructValue", "struct_value": text}
        else:
            out[key] = {"metadataType": "MetadataStringValue", "string_value": str(value)}
    return out


_PAYLOAD = {"MetadataIntValue": "int_value", "MetadataDoubleValue": "double_value",
            "MetadataStringValue": "string_value", "MetadataStructValue": "struct_value",
            "MetadataBoolValue": "bool_value"}


#: Deepest nesting of objects and arrays in a struct property sent to the REST API.
MAX_STRUCT_DEPTH = 100
#: Most custom properties one entity may carry in a REST request.
MAX_CUSTOM_PROPERTIES = 1000


def _nesting(obj: object) -> int:
    """How deeply objects and arrays nest in ``obj`` (iterative: no recursion limit)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _decode_struct(key: str, text: str, *, request: bool) -> StructValue:
    raw = text
    if request:
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
        except (ValueError, UnicodeError, binascii.Error):
            raise WireFormatError(f"customProperties[{key!r}]: struct_value must be base64 of "
                                  "a JSON object", field="customProperties") from None
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the C stack
        obj = None
    if request and isinstance(obj, dict) and _nesting(obj) > MAX_STRUCT_DEPTH:
        raise WireFormatError(f"customProperties[{key!r}]: struct_value nests deeper than "
                              f"{MAX_STRUCT_DEPTH} levels", field="customProperties")
    if not isinstance(obj, dict):
        if not request:  # lenient on responses: keep what the server said
            return StructValue(raw)
        raise WireFormatError(f"customProperties[{key!r}]: struct_value must encode a JSON "
                              f"object nested at most {MAX_STRUCT_DEPTH} levels",
                              field="customProperties")
    return StructValue(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))


def _check_property_map(data: object, *, request: bool) -> None:
    if not isinstance(data, dict):
        raise WireFormatError("customProperties must be an object", field="customProperties")
    if request and len(data) > MAX_CUSTOM_PROPERTIES:
        raise WireFormatError(f"customProperties has {len(data)} entries; at most "
                              f"{MAX_CUSTOM_PROPERTIES} are allowed", field="customProperties")


def decode_properties(data: object, *, request: bool = True) -> dict[str, SupportedTypes]:
    """``customProperties`` from the wire; ``request`` = input form, checked strictly."""
    _check_property_map(data, request=request)
    assert isinstance(data, dict)
    out: dict[str, SupportedTypes] = {}
    for key, cell in data.items():
        where = f"customProperties[{key!r}]"
        if not isinstance(cell, dict):
            raise WireFormatError(f"{where} must be a MetadataValue object",
                                  field="customProperties")
        kind = cell.get("metadataType")
        payload = _PAYLOAD.get(kind) if isinstance(kind, str) else None
        if payload is None:
            raise WireFormatError(f"{where}: metadataType {kind!r} not supported (use one of "
                                  f"{', '.join(_PAYLOAD)})", field="customProperties")
        extra = set(cell) - {"metadataType", payload}
        if request and extra:
            raise WireFormatError(f"{where}: unknown keys {sorted(extra)}",
                                  field="customProperties")
        if payload not in cell:
            raise WireFormatError(f"{where}: {payload} is required", field="customProperties")
        value = cell[payload]
        if payload == "int_value":
            text = str(value) if not request and isinstance(value, int) else value
            if not isinstance(text, str) or not _INT_VALUE.fullmatch(text):
                raise WireFormatError(f"{where}: int_value must be a string of an integer of at "
                                      f"most nine digits, got {value!r}", field="customProperties")
            out[key] = int(text)
        elif payload == "double_value":
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise WireFormatError(f"{where}: double_value must be a finite number",
                                      field="customProperties")
            out[key] = float(value)
        elif payload == "bool_value":
            if not isinstance(value, bool):
                raise WireFormatError(f"{where}: bool_value must be a boolean",
                                      field="customProperties")
            out[key] = value
        elif not isinstance(value, str):
            raise WireFormatError(f"{where}: {payload} must be a string", field="customProperties")
        elif payload == "struct_value":
            out[key] = _decode_struct(key, value, request=request)
        else:
            out[key] = value
    return out


# -- encoding --------------------------------------------------------------------------------


def _wire_value(name: str, value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if name in _INT64_FIELDS and value is not None:
        return str(value)
    return value


def to_json(entity: BaseResource) -> dict[str, Any]:
    """The entity as the server returns it (None fields omitted, ``customProperties`` always)."""
    cls = type(entity)
    out: dict[str, Any] = {}
    if isinstance(entity, Artifact):
        out["artifactType"] = cls.kind
    hidden = _HIDDEN.get(cls, ())
    for f in fields(entity):
        if f.name in hidden:
            continue
        value = getattr(entity, f.name)
        if f.name == "custom_properties":
            out["customProperties"] = encode_properties(value)
        elif value is not None:
            out[camel(f.name)] = _wire_value(f.name, value)
    return out


def to_request(entity: BaseResource, *, mode: str = "create") -> dict[str, Any]:
    """A create (``mode="create"``) or update (``"update"``) body for ``entity``."""
    cls = type(entity)
    create, update, _required = _SCHEMAS[cls]
    names = create if mode == "create" else update
    out: dict[str, Any] = {}
    if isinstance(entity, Artifact):
        out["artifactType"] = cls.kind
    for name in names:
        value = getattr(entity, name)
        if name == "custom_properties":
            if value:
                out["customProperties"] = encode_properties(value, request=True)
        elif value is not None:
            out[camel(name)] = _wire_value(name, value)
    return out


# -- decoding --------------------------------------------------------------------------------


def _field_value(cls: type[BaseResource], name: str, value: Any, *, request: bool) -> Any:
    key = camel(name)
    if name == "custom_properties":
        return decode_properties(value, request=request)
    if name == "state" and cls in _STATE_ENUMS:
        return _enum(key, value, _STATE_ENUMS[cls])
    if name in _ENUMS:
        return _enum(key, value, _ENUMS[name])
    if name in _LIST_FIELDS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise WireFormatError(f"{key} must be an array of strings", field=key)
        return list(value)
    if name == "value" and cls is Metric:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise WireFormatError(f"{key} must be a finite number", field=key)
        return float(value)
    if name in _INT64_FIELDS:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not _INT64.fullmatch(value) \
                or not -(2**63) <= int(value) < 2**63:
            raise WireFormatError(f"{key} must be a string of a 64-bit integer", field=key)
        return str(int(value))
    if not isinstance(value, str):
        raise WireFormatError(f"{key} must be a string, got {type(value).__name__}", field=key)
    if request and name in _URI_FIELDS and not _URI.fullmatch(value):
        raise WireFormatError(f"{key} must be an absolute URI, got {value[:80]!r}", field=key)
    if name in _ID_FIELDS or name == "id":
        if not ID_PATTERN.fullmatch(value) or not 0 < int(value) < 2**31:
            raise WireFormatError(f"{key} must be a positive decimal id, got {value!r}",
                                  field=key)
        return str(int(value))
    return value


def _enum(key: str, value: object, enum: type[Enum]) -> Enum:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise WireFormatError(f"{key} must be one of {allowed}, got {value!r}",
                              field=key) from None


def _read(cls: type[BaseResource], data: object, allowed: tuple[str, ...], *, strict: bool,
          request: bool) -> dict[str, Any]:
    """Allowed, non-null fields of ``data`` decoded to domain names and values."""
    if not isinstance(data, dict):
        raise WireFormatError("request body must be a JSON object")
    by_key = {camel(name): name for name in allowed}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "artifactType" and issubclass(cls, Artifact):
            if value is not None and value != cls.kind:
                raise WireFormatError(f"artifactType must be {cls.kind!r}, got {value!r}",
                                      field="artifactType")
            continue
        name = by_key.get(key)
        if name is None:
            if strict:
                # Go quotes with %q: a JSON string literal for the usual ASCII keys.
                raise UnknownFieldError(f"json: unknown field {json.dumps(key)}", field=key)
            continue
        if value is not None:
            out[name] = _field_value(cls, name, value, request=request)
    return out


def decode_create(cls: type[T], data: object, *, strict: bool = True,
                  read_only: bool = False) -> T:
    """A new entity from a create body; ``read_only`` also accepts (and drops) id and times."""
    create, _update, required = _SCHEMAS[cls]
    allowed = create + _READ_ONLY if read_only else create
    values = _read(cls, data, allowed, strict=strict, request=True)
    for name in _READ_ONLY:
        values.pop(name, None)
    for name in required:
        if values.get(name) in (None, ""):
            raise MissingFieldError(f"required field '{camel(name)}' is zero value.",
                                    field=camel(name))
    return cls(**values)


def decode_update(cls: type[BaseResource], data: object, *, strict: bool = True
                  ) -> dict[str, Any]:
    """The fields a PATCH body sets (domain names; null and omitted keys are absent)."""
    _create, update, _required = _SCHEMAS[cls]
    return _read(cls, data, update, strict=strict, request=True)


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """An entity from a server response; for ``Artifact`` the class follows ``artifactType``."""
    target: type[BaseResource] = cls
    if cls is Artifact:
        target = artifact_class(data.get("artifactType"))
    create, _update, _required = _SCHEMAS[target]
    allowed = create + _READ_ONLY + _HIDDEN.get(target, ())
    values = _read(target, dict(data), allowed, strict=False, request=False)
    values["custom_properties"] = values.get("custom_properties") or None
    return cast(T, target(**values))


def overlay(entity: T, changes: Mapping[str, Any]) -> T:
    """``entity`` with ``changes`` applied (the PATCH merge: set keys replace, others kept)."""
    return replace(entity, **dict(changes))
