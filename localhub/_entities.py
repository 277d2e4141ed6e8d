"""How each domain type maps onto the SQLite tables, and conversion between rows and types."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Any

from .cells import decode_cell, encode_cell
from .errors import InvalidInputError
from .types import (
    CP,
    BaseResource,
    DataSet,
    DocArtifact,
    FieldFacts,
    InferenceService,
    Metric,
    ModelArtifact,
    ModelVersion,
    Parameter,
    RegisteredModel,
    ServeModel,
    ServingEnvironment,
    SupportedTypes,
    facts,
)
from .validation import (
    MAX_EXTERNAL_ID_LENGTH,
    STANDALONE_PREFIX_LENGTH,
    check_custom_properties,
    check_enum,
    check_id,
    check_int64,
    check_link,
    check_name,
    check_number,
    check_optional_text,
    check_owned_name,
    check_strings,
    check_uri,
)

__all__ = ["EntitySpec", "SPECS", "SPECS_BY_KIND", "spec_for", "encode_properties",
           "decode_properties", "validated_values", "row_values", "from_row", "check_id",
           "check_stored_name", "compact_json"]

#: Columns every entity table has, besides those a type declares for itself (``owner``...).
_SHARED_COLUMNS = frozenset({"id", "name", "description", "external_id", CP, "create_time",
                             "update_time", "state", "parent_id"})


@dataclass(frozen=True)
class EntitySpec:
    """Where one domain type lives: table, kind, parent column and field placement.

    Everything but the table and the label follows from the type's :class:`FieldFacts`.
    """

    cls: type[BaseResource]
    table: str
    #: Human name used in messages ("registered model", "model version", ...).
    label: str

    @property
    def kind(self) -> str:
        return self.cls.kind

    @cached_property
    def facts(self) -> dict[str, FieldFacts]:
        return facts(self.cls)

    @cached_property
    def parent_field(self) -> str | None:
        """Domain field stored in ``parent_id`` (``version_id`` for artifacts), if any."""
        return next((n for n, f in self.facts.items() if f.column == "parent_id"), None)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Domain fields with a column of their own (besides the shared ones)."""
        return tuple(n for n, f in self.facts.items()
                     if f.column is not None and f.column not in _SHARED_COLUMNS)

    @cached_property
    def state_field(self) -> str | None:
        """Domain field whose value is kept in the ``state`` column."""
        return next((n for n, f in self.facts.items() if f.column == "state"), None)

    @property
    def state_enum(self) -> type[Enum] | None:
        return None if self.state_field is None else self.facts[self.state_field].enum

    @property
    def name_optional(self) -> bool:
        """Whether the name may be omitted (the store then generates one)."""
        return not self.facts["name"].required

    @property
    def parent_column(self) -> str:
        return "version_id" if self.table == "artifacts" else "parent_id"

    @cached_property
    def attr_fields(self) -> tuple[str, ...]:
        """Fields kept in the JSON ``attrs`` column (computed once: it is on every hot path)."""
        return tuple(n for n, f in self.facts.items() if f.column is None)

    @cached_property
    def attr_enums(self) -> dict[str, type[Enum]]:
        """Enum-valued ``attrs`` fields (stored as their value)."""
        return {n: e for n in self.attr_fields if (e := self.facts[n].enum) is not None}


SPECS: dict[type[BaseResource], EntitySpec] = {
    spec.cls: spec
    for spec in (
        EntitySpec(RegisteredModel, "contexts", "registered model"),
        EntitySpec(ModelVersion, "contexts", "model version"),
        EntitySpec(ServingEnvironment, "contexts", "serving environment"),
        EntitySpec(InferenceService, "contexts", "inference service"),
        EntitySpec(ModelArtifact, "artifacts", "model artifact"),
        EntitySpec(DocArtifact, "artifacts", "doc artifact"),
        EntitySpec(DataSet, "artifacts", "dataset artifact"),
        EntitySpec(Metric, "artifacts", "metric"),
        EntitySpec(Parameter, "artifacts", "parameter"),
        EntitySpec(ServeModel, "executions", "serve model"),
    )
}
SPECS_BY_KIND: dict[str, EntitySpec] = {spec.kind: spec for spec in SPECS.values()}


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


def encode_properties(props: Mapping[str, SupportedTypes]) -> str:
    """Custom properties as stored: a JSON map of cells (``{"key": {"int_value": 3}}``)."""
    return compact_json({key: encode_cell(value) for key, value in props.items()})


def decode_properties(text: str) -> dict[str, SupportedTypes]:
    """Inverse of :func:`encode_properties`."""
    return {key: decode_cell(cell) for key, cell in json.loads(text).items()}


def _field_checker(spec: EntitySpec, field_name: str) -> Callable[[Any], Any]:
    """The check of one field by its value kind: ``check(value) -> normalised``."""
    where = f"{spec.cls.__name__}.{field_name}"
    fact = spec.facts[field_name]
    if fact.value == "enum" and fact.enum is not None:
        enum = fact.enum
        return lambda value: check_enum(where, value, enum)
    if fact.value == "name":
        allow_empty = spec.table == "artifacts"
        return lambda value: check_name(where, value, allow_empty=allow_empty)
    if fact.value == "short":
        # An empty external id is a value like any other (the spec declares a plain string and
        # the server stores it): it is unique like the others.
        return lambda value: check_optional_text(where, value, long=False,
                                                 max_chars=MAX_EXTERNAL_ID_LENGTH)
    if fact.value == "properties":
        return lambda value: check_custom_properties(where, value)
    if fact.value == "uri":
        return lambda value: check_uri(where, value, required=False)
    if fact.value == "link":
        return lambda value: check_link(where, value)
    if fact.value == "int64":
        return lambda value: check_int64(where, value)
    if fact.value == "strings":
        return lambda value: check_strings(where, value)
    if fact.value == "number":
        return lambda value: check_number(where, value)
    if fact.value == "id":
        return lambda value: check_id(where, value)
    # Every other field is a property: ``string_value MEDIUMTEXT`` on the server.
    return lambda value: check_optional_text(where, value)


_CHECKERS: dict[type[BaseResource], tuple[tuple[str, Callable[[Any], Any]], ...]] = {}


def _checkers(spec: EntitySpec) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """The checks of every field a client sets, in the order their errors are reported."""
    found = _CHECKERS.get(spec.cls)
    if found is None:
        order = ["description", "external_id", CP]
        if spec.state_field is not None:
            order.append(spec.state_field)
        order += [*spec.columns, *spec.attr_fields]
        if spec.parent_field is not None:
            order.append(spec.parent_field)
        found = _CHECKERS[spec.cls] = tuple((f, _field_checker(spec, f)) for f in order)
    return found


def validated_values(spec: EntitySpec, entity: BaseResource) -> dict[str, Any]:
    """Every mutable field of ``entity`` checked and normalised, keyed by domain field name."""
    name = getattr(entity, "name", None)
    values: dict[str, Any] = {"name": None if name is None and spec.name_optional
                              else check_name(f"{spec.cls.__name__}.name", name,
                                              allow_empty=spec.table == "artifacts")}
    for field_name, check in _checkers(spec):
        value = getattr(entity, field_name)
        if field_name == CP:
            values[CP] = check(value)  # None reads as no properties
        elif value is None and field_name in _required_refs(spec):
            raise InvalidInputError(f"{spec.cls.__name__}.{field_name}", "is required")
        else:
            values[field_name] = None if value is None else check(value)
    return values


def _required_refs(spec: EntitySpec) -> frozenset[str]:
    """Required fields besides the name and the parent (checked where the row is placed):
    an inference service's model, a serve model's version."""
    return frozenset(n for n, f in spec.facts.items()
                     if f.required and n != "name" and f.column != "parent_id")


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


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def row_values(spec: EntitySpec, values: dict[str, Any]) -> dict[str, Any]:
    """Column values for a row (without ids, parent, times and uid)."""
    row: dict[str, Any] = {
        "kind": spec.kind,
        "name": values["name"],
        "description": values["description"],
        "external_id": values["external_id"],
        "custom_properties": encode_properties(values[CP]),
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
        enum = spec.attr_enums.get(field_name)
        if value is not None and enum is not None:
            value = enum(value)
        kwargs[field_name] = value
    return spec.cls(**kwargs)
