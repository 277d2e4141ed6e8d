"""Custom property cells: one typed value as JSON, ``{"<kind>_value": value}``.

The store's ``custom_properties`` column and bundles hold a map of these cells; the wire codec
adds ``metadataType`` (and writes ints as strings) around the same payload keys.
"""

from __future__ import annotations

from typing import Any

from .types import StructValue, SupportedTypes

__all__ = ["METADATA_TYPES", "decode_cell", "encode_cell", "payload_key"]

#: Payload key -> the REST ``metadataType`` of that kind of value.
METADATA_TYPES = {"int_value": "MetadataIntValue", "double_value": "MetadataDoubleValue",
                  "string_value": "MetadataStringValue", "struct_value": "MetadataStructValue",
                  "bool_value": "MetadataBoolValue"}


def payload_key(value: SupportedTypes) -> str:
    """The payload key of a value (``bool`` before ``int``: a bool is an int in Python)."""
    if isinstance(value, bool):
        return "bool_value"
    if isinstance(value, int):
        return "int_value"
    if isinstance(value, float):
        return "double_value"
    return "struct_value" if isinstance(value, StructValue) else "string_value"


def encode_cell(value: SupportedTypes) -> dict[str, Any]:
    """A value as its cell; a struct keeps its JSON text."""
    key = payload_key(value)
    return {key: str(value) if key in ("struct_value", "string_value") else value}


def decode_cell(cell: dict[str, Any]) -> SupportedTypes:
    """The value of a cell (inverse of :func:`encode_cell`; lenient on stored ints as text)."""
    if "struct_value" in cell:
        return StructValue(cell["struct_value"])
    if "int_value" in cell:
        return int(cell["int_value"])
    if "double_value" in cell:
        return float(cell["double_value"])
    if "bool_value" in cell:
        return bool(cell["bool_value"])
    return str(cell.get("string_value", ""))
