"""Snapshots: an entity's syncable content as a JSON-able dict in domain field names.

A snapshot holds every field a client may set (not the id, the name's parent or the server's
times); ``custom_properties`` is a map ``key -> wire cell`` (``{"metadataType":
"MetadataIntValue", "int_value": "3"}``, :func:`localhub.codec.encode_properties`) so that an
int, a float, a string and a struct stay distinct. Snapshots are what links store as the
*base*, what the three-way merge compares, and what conflicts show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import fields, replace
from enum import Enum
from typing import Any, TypeVar

from localhub._entities import SPECS
from localhub.codec import camel, decode_properties, encode_properties, from_json, to_request
from localhub.types import CP, BaseResource, SupportedTypes, facts

__all__ = ["CP", "SKIP", "apply_snapshot", "content_hash", "property_cell", "snapshot",
           "snapshot_cells", "update_body"]

T = TypeVar("T", bound=BaseResource)

#: Fields that are not content: ids, server times, links to other entities.
SKIP = frozenset(name for cls in SPECS for name, fact in facts(cls).items()
                 if fact.read_only or fact.ref)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return list(value)
    return value


def snapshot_cells(props: Mapping[str, SupportedTypes]) -> dict[str, dict[str, Any]]:
    """Custom properties as a snapshot holds them: key -> wire cell."""
    return encode_properties(props)


def property_cell(value: SupportedTypes) -> dict[str, Any]:
    """One custom property value as its wire cell."""
    return encode_properties({"k": value})["k"]


def snapshot(entity: BaseResource) -> dict[str, Any]:
    """The entity's content (JSON-able, domain names, custom properties as typed cells)."""
    out: dict[str, Any] = {}
    for f in fields(entity):
        if f.name in SKIP:
            continue
        value = getattr(entity, f.name)
        if f.name == CP:
            out[CP] = snapshot_cells(value or {})
        else:
            out[f.name] = _plain(value)
    return out


def content_hash(snap: dict[str, Any]) -> str:
    """A stable hash of a snapshot."""
    text = json.dumps(snap, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def apply_snapshot(entity: T, snap: dict[str, Any], names: set[str] | None = None) -> T:
    """``entity`` with the snapshot's values for ``names`` (all content fields by default)."""
    current = snapshot(entity)
    changes: dict[str, Any] = {}
    for f in fields(entity):
        if f.name in SKIP or f.name not in snap or (names is not None and f.name not in names):
            continue
        if snap[f.name] == current.get(f.name):
            continue
        value = snap[f.name]
        if f.name == CP:
            value = decode_properties(value, request=False) or None
        elif value is not None and f.name != "name":
            # Enums and typed fields: rebuild through the current value's type when it has one.
            template = getattr(entity, f.name)
            if isinstance(template, Enum):
                value = type(template)(value)
            else:
                value = _coerce(entity, f.name, value)
        changes[f.name] = value
    return replace(entity, **changes) if changes else entity


def _coerce(entity: BaseResource, name: str, value: Any) -> Any:
    """Enum fields whose current value is None: find the enum through the codec's decoding."""
    if isinstance(value, str):
        probe = {camel(name): value}
        try:
            decoded = from_json(type(entity), {"name": "x", **probe}) if hasattr(entity, "name") \
                else None
        except Exception:  # noqa: BLE001 - not decodable: keep the plain value
            return value
        if decoded is not None:
            return getattr(decoded, name, value)
    return value


def update_body(entity: BaseResource, names: set[str]) -> dict[str, Any]:
    """The PATCH body writing ``names`` of ``entity`` (state is always added by the caller)."""
    full = to_request(entity, mode="update")
    wanted = {camel(n) for n in names}
    body = {k: v for k, v in full.items() if k in wanted}
    if CP in names and "customProperties" not in body:
        body["customProperties"] = {}  # the map is replaced whole: {} removes every key
    return body
