"""Input rules, checked before anything is written.

They are the remote server's limits (or stricter), so that nothing accepted offline is
refused when it is synced. Every violation raises ``InvalidInputError`` (a ``ValueError``)
naming the field and the rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from .errors import InvalidInputError
from .types import StructValue, SupportedTypes

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_EXTERNAL_ID_LENGTH",
    "MAX_TEXT_BYTES",
    "MAX_PROPERTY_KEY_LENGTH",
    "INT_PROPERTY_MIN",
    "INT_PROPERTY_MAX",
    "check_lookup_text",
    "check_name",
    "check_optional_text",
    "check_uri",
    "check_custom_properties",
    "check_enum",
]

#: Names of models, versions and artifacts. The server stores child names as
#: "<parent id>:<name>" in a 255-character column, so we keep room for the prefix.
MAX_NAME_LENGTH = 200
#: External ids (a 255-character unique column on the server).
MAX_EXTERNAL_ID_LENGTH = 255
#: Descriptions, URIs and string values (a TEXT column: 65,535 bytes on MySQL).
MAX_TEXT_BYTES = 65_535
#: Owner, author, format names and other short string fields.
MAX_SHORT_TEXT_LENGTH = 255
MAX_PROPERTY_KEY_LENGTH = 255
#: The server's int_value pattern ``^-?([1-9][0-9]{0,8}|0)$``: at most nine digits.
INT_PROPERTY_MIN = -999_999_999
INT_PROPERTY_MAX = 999_999_999

E = TypeVar("E", bound=Enum)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _check_text(field: str, value: object, *, max_chars: int | None, max_bytes: int | None) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(field, f"must be a string, got {type(value).__name__}")
    if value.isascii():  # the common case: one byte per character, no surrogates possible
        if "\x00" in value:
            raise InvalidInputError(field, "must not contain NUL characters")
        limit = min(max_chars or len(value), max_bytes or len(value))
        if len(value) <= limit:
            return value
    if "\x00" in value:
        raise InvalidInputError(field, "must not contain NUL characters")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInputError(field, f"must be at most {max_chars} characters, got {len(value)}")
    if max_bytes is not None and len(value.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InvalidInputError(field, f"must be at most {max_bytes} bytes in UTF-8")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(field, "must be valid Unicode (no lone surrogates)") from None
    return value


def check_lookup_text(field: str, value: object) -> str:
    """A name or external id to look up: a string SQLite can bind (no lone surrogates).

    No length rule: a name too long to be stored is simply not found.
    """
    if not isinstance(value, str):
        raise InvalidInputError(field, f"must be a string, got {type(value).__name__}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(field, "must be valid Unicode (no lone surrogates)") from None
    return value


def check_name(field: str, value: object) -> str:
    """A required name: a non-blank string without NUL of at most MAX_NAME_LENGTH characters."""
    text = _check_text(field, value, max_chars=MAX_NAME_LENGTH, max_bytes=None)
    if not text.strip():
        raise InvalidInputError(field, "must not be empty or blank")
    return text


def check_optional_text(
    field: str, value: object, *, long: bool = False, max_chars: int | None = None
) -> str | None:
    """An optional string field; ``long`` allows MAX_TEXT_BYTES instead of 255 characters."""
    if value is None:
        return None
    if long:
        return _check_text(field, value, max_chars=None, max_bytes=MAX_TEXT_BYTES)
    return _check_text(
        field, value, max_chars=max_chars or MAX_SHORT_TEXT_LENGTH, max_bytes=None
    )


def check_uri(field: str, value: object, *, required: bool = True) -> str | None:
    """An artifact URI: non-blank, no control characters, at most MAX_TEXT_BYTES."""
    if value is None:
        if required:
            raise InvalidInputError(field, "is required")
        return None
    text = _check_text(field, value, max_chars=None, max_bytes=MAX_TEXT_BYTES)
    if not text.strip():
        raise InvalidInputError(field, "must not be empty or blank")
    if text != text.strip():
        raise InvalidInputError(field, "must not start or end with white space")
    # C0, DEL and C1 (U+0080..U+009F): every character of Unicode category Cc.
    if _CONTROL.search(text):
        raise InvalidInputError(field, "must not contain control characters")
    return text


def check_custom_properties(
    field: str, value: Mapping[str, object] | None
) -> dict[str, SupportedTypes]:
    """Custom properties: str keys to bool, int (nine digits), finite float or str values.

    ``None`` values are dropped, as the official client does.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(field, f"must be a mapping, got {type(value).__name__}")
    result: dict[str, SupportedTypes] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidInputError(field, f"keys must be strings, got {key!r}")
        where = f"{field}[{key!r}]"
        _check_text(where, key, max_chars=MAX_PROPERTY_KEY_LENGTH, max_bytes=None)
        if not key:
            raise InvalidInputError(field, "keys must not be empty")
        if item is None:
            continue
        if isinstance(item, bool):
            result[key] = item
        elif isinstance(item, int):
            if not INT_PROPERTY_MIN <= item <= INT_PROPERTY_MAX:
                raise InvalidInputError(
                    where,
                    f"integer {item} is outside the registry's range "
                    f"{INT_PROPERTY_MIN}..{INT_PROPERTY_MAX}; store it as a float or a string",
                )
            result[key] = int(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInputError(where, f"float must be finite, got {item}")
            result[key] = float(item)
        elif isinstance(item, StructValue):
            result[key] = item
        elif isinstance(item, str):
            result[key] = _check_text(where, item, max_chars=None, max_bytes=MAX_TEXT_BYTES)
        else:
            raise InvalidInputError(
                where, f"must be a bool, int, float or str, got {type(item).__name__}"
            )
    return result


def check_enum(field: str, value: object, enum: type[E]) -> E:
    """A state: an enum member or its string value."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in enum)
    raise InvalidInputError(field, f"must be one of {allowed}, got {value!r}")
