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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Any, TypeVar, cast

from .cells import METADATA_TYPES, encode_cell
from .errors import InvalidInputError, LocalHubError
from .types import (
    ARTIFACT_TYPES,
    Artifact,
    BaseResource,
    InferenceService,
    ModelVersion,
    RegisteredModel,
    ServeModel,
    ServingEnvironment,
    StructValue,
    SupportedTypes,
    facts,
)
from .validation import URI_PATTERN, check_enum, check_id, check_number, check_strings

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
#: ``format: uri`` (RFC 3986), the rule the offline checks apply too.
_URI = URI_PATTERN


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


# -- schema tables (derived from the types' field facts) -----------------------------------

_WIRE_CLASSES: tuple[type[BaseResource], ...] = (
    RegisteredModel, ModelVersion, ServingEnvironment, InferenceService, ServeModel,
    *ARTIFACT_TYPES.values())


@dataclass(frozen=True)
class _Schema:
    """The REST schemas of one type, in domain field names."""

    create: tuple[str, ...]
    update: tuple[str, ...]
    required: tuple[str, ...]
    read_only: tuple[str, ...]
    #: On the domain type, not in the spec's response schema (read leniently, never written).
    hidden: tuple[str, ...]


def _schema(cls: type[BaseResource]) -> _Schema:
    f = facts(cls)
    return _Schema(
        create=tuple(n for n, x in f.items() if x.wire and x.create),
        update=tuple(n for n, x in f.items() if x.wire and x.update),
        required=tuple(n for n, x in f.items() if x.required),
        read_only=tuple(n for n, x in f.items() if x.read_only),
        hidden=tuple(n for n, x in f.items() if not x.wire))


_SCHEMAS: dict[type[BaseResource], _Schema] = {cls: _schema(cls) for cls in _WIRE_CLASSES}


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
        ((payload, stored),) = encode_cell(value).items()
        if payload == "int_value":
            stored = str(stored)  # int64 as a string, as the spec declares
        elif payload == "struct_value" and request:
            stored = base64.b64encode(stored.encode()).decode()
        out[key] = {"metadataType": METADATA_TYPES[payload], payload: stored}
    return out


_PAYLOAD = {kind: payload for payload, kind in METADATA_TYPES.items()}


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


def _wire_value(cls: type[BaseResource], name: str, value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if value is not None and facts(cls)[name].value == "int64":
        return str(value)
    return value


def to_json(entity: BaseResource) -> dict[str, Any]:
    """The entity as the server returns it (None fields omitted, ``customProperties`` always)."""
    cls = type(entity)
    out: dict[str, Any] = {}
    if isinstance(entity, Artifact):
        out["artifactType"] = cls.kind
    hidden = _SCHEMAS[cls].hidden
    for f in fields(entity):
        if f.name in hidden:
            continue
        value = getattr(entity, f.name)
        if f.name == "custom_properties":
            out["customProperties"] = encode_properties(value)
        elif value is not None:
            out[camel(f.name)] = _wire_value(cls, f.name, value)
    return out


def to_request(entity: BaseResource, *, mode: str = "create") -> dict[str, Any]:
    """A create (``mode="create"``) or update (``"update"``) body for ``entity``."""
    cls = type(entity)
    schema = _SCHEMAS[cls]
    names = schema.create if mode == "create" else schema.update
    out: dict[str, Any] = {}
    if isinstance(entity, Artifact):
        out["artifactType"] = cls.kind
    for name in names:
        value = getattr(entity, name)
        if name == "custom_properties":
            if value:
                out["customProperties"] = encode_properties(value, request=True)
        elif value is not None:
            out[camel(name)] = _wire_value(cls, name, value)
    return out


# -- decoding --------------------------------------------------------------------------------


def _checked(key: str, check: Callable[..., Any], *args: Any) -> Any:
    """A shared rule of :mod:`localhub.validation`, its failure as a wire format error."""
    try:
        return check(key, *args)
    except InvalidInputError as exc:
        raise WireFormatError(f"{key} {exc.rule}", field=key) from None


def _field_value(cls: type[BaseResource], name: str, value: Any, *, request: bool) -> Any:
    key = camel(name)
    fact = facts(cls)[name]
    if fact.value == "properties":
        return decode_properties(value, request=request)
    if fact.enum is not None:
        return _checked(key, check_enum, value, fact.enum)
    if fact.value == "strings":
        return _checked(key, check_strings, value)
    if fact.value == "number":
        return _checked(key, check_number, value)
    if fact.value == "int64":
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not _INT64.fullmatch(value) \
                or not -(2**63) <= int(value) < 2**63:
            raise WireFormatError(f"{key} must be a string of a 64-bit integer", field=key)
        return str(int(value))
    if not isinstance(value, str):
        raise WireFormatError(f"{key} must be a string, got {type(value).__name__}", field=key)
    if request and fact.value == "link" and not _URI.fullmatch(value):
        raise WireFormatError(f"{key} must be an absolute URI, got {value[:80]!r}", field=key)
    if fact.value == "id":
        if not ID_PATTERN.fullmatch(value):
            raise WireFormatError(f"{key} must be a positive decimal id, got {value!r}",
                                  field=key)
        return _checked(key, check_id, value)
    return value


def _read(cls: type[BaseResource], data: object, allowed: tuple[str, ...], *, strict: bool,
          request: bool) -> dict[str, Any]:
    """Allowed, non-null fields of ``data`` decoded to domain names and values."""
    if not isinstance(data, dict):
        raise WireFormatError("request body must be a JSON object")
    by_key = {camel(name): name for name in allowed}
    # Go's encoding/json (the upstream server) takes a key that matches a field only when
    # case is ignored (``registeredModelID``); requests get the same.
    by_folded = {key.casefold(): name for key, name in by_key.items()} if request else {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "artifactType" and issubclass(cls, Artifact):
            if value is not None and value != cls.kind:
                raise WireFormatError(f"artifactType must be {cls.kind!r}, got {value!r}",
                                      field="artifactType")
            continue
        name = by_key.get(key) or by_folded.get(key.casefold())
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
    schema = _SCHEMAS[cls]
    allowed = schema.create + schema.read_only if read_only else schema.create
    values = _read(cls, data, allowed, strict=strict, request=True)
    for name in schema.read_only:
        values.pop(name, None)
    for name in schema.required:
        if values.get(name) in (None, ""):
            raise MissingFieldError(f"required field '{camel(name)}' is zero value.",
                                    field=camel(name))
    return cls(**values)


def decode_update(cls: type[BaseResource], data: object, *, strict: bool = True
                  ) -> dict[str, Any]:
    """The fields a PATCH body sets (domain names; null and omitted keys are absent)."""
    return _read(cls, data, _SCHEMAS[cls].update, strict=strict, request=True)


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """An entity from a server response; for ``Artifact`` the class follows ``artifactType``."""
    target: type[BaseResource] = cls
    if cls is Artifact:
        target = artifact_class(data.get("artifactType"))
    schema = _SCHEMAS[target]
    allowed = schema.create + schema.read_only + schema.hidden
    values = _read(target, dict(data), allowed, strict=False, request=False)
    values["custom_properties"] = values.get("custom_properties") or None
    return cast(T, target(**values))


def overlay(entity: T, changes: Mapping[str, Any]) -> T:
    """``entity`` with ``changes`` applied (the PATCH merge: set keys replace, others kept)."""
    return replace(entity, **dict(changes))
