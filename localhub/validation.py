"""Input rules, checked before anything is written.

They are the remote server's limits, taken from its database schema (kubeflow/model-registry,
``internal/datastore/embedmd/mysql/migrations``: ``Context.name``, ``Artifact.name`` and both
``external_id`` columns are ``VARCHAR(255)``, ``Artifact.uri`` is ``TEXT``, property values are
``MEDIUMTEXT`` and property names ``VARCHAR(255)``), so that nothing the server accepts is
refused offline and nothing accepted offline is refused when it is synced. The formats, enums
and required fields of the official OpenAPI spec are checked too (``format: uri`` links,
``format: int64`` strings), each field's kind declared once in its ``FieldFacts``. Every violation
raises ``InvalidInputError`` (a ``ValueError``) naming the field and the rule.
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
    "MAX_URI_BYTES",
    "MAX_PROPERTY_KEY_LENGTH",
    "INT_PROPERTY_MIN",
    "INT_PROPERTY_MAX",
    "STANDALONE_PREFIX_LENGTH",
    "URI_PATTERN",
    "check_lookup_text",
    "check_name",
    "check_owned_name",
    "check_optional_text",
    "check_uri",
    "check_link",
    "check_int64",
    "check_custom_properties",
    "check_enum",
    "check_id",
    "check_number",
    "check_strings",
    "owned_name_limit",
]

#: ``Context.name`` / ``Artifact.name`` / ``Execution.name`` are ``VARCHAR(255)`` (characters).
#: Owned entities (versions, artifacts, inference services, serves) are stored as
#: ``"<parent id>:<name>"`` in that column (``converter.PrefixWhenOwned``), so their limit
#: depends on the parent id: see :func:`owned_name_limit`.
MAX_NAME_LENGTH = 255
#: External ids (``external_id VARCHAR(255)``, unique).
MAX_EXTERNAL_ID_LENGTH = 255
#: Descriptions, owners, authors, formats and custom property strings are properties:
#: ``string_value MEDIUMTEXT`` (16,777,215 bytes).
MAX_TEXT_BYTES = 16_777_215
#: ``Artifact.uri`` is a ``TEXT`` column (65,535 bytes).
MAX_URI_BYTES = 65_535
#: Property names (``ContextProperty.name`` / ``ArtifactProperty.name``: ``VARCHAR(255)``).
MAX_PROPERTY_KEY_LENGTH = 255
#: An artifact created without a version is prefixed with a random UUID (36 characters).
STANDALONE_PREFIX_LENGTH = 36
#: The server's int_value pattern ``^-?([1-9][0-9]{0,8}|0)$``: at most nine digits.
INT_PROPERTY_MIN = -999_999_999
INT_PROPERTY_MAX = 999_999_999

E = TypeVar("E", bound=Enum)
#: The spec's ``format: uri`` (``logo``, ``licenseLink``; RFC 3986 absolute URI): a scheme,
#: then no spaces, no controls, valid %-escapes.
URI_PATTERN = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*")
#: The spec's ``format: int64`` strings (metric ``timestamp`` and ``step``).
_INT64 = re.compile(r"-?[0-9]{1,19}")
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


def check_name(field: str, value: object, *, allow_empty: bool = False) -> str:
    """A name: a string without NUL of at most MAX_NAME_LENGTH characters.

    Non-blank, except that artifacts may have an empty name (``allow_empty``): the server
    accepts it (``ParameterCreate.name`` has no ``minLength`` and the Go server does not
    check one; ``converter.PrefixWhenOwned`` stores the bare prefix).
    """
    text = _check_text(field, value, max_chars=MAX_NAME_LENGTH, max_bytes=None)
    if allow_empty and text == "":
        return text
    if not text.strip():
        raise InvalidInputError(field, "must not be empty or blank")
    return text


def owned_name_limit(prefix_length: int) -> int:
    """The longest name the server stores under a ``"<prefix>:"`` of ``prefix_length``."""
    return MAX_NAME_LENGTH - prefix_length - 1


def check_owned_name(field: str, name: str, prefix_length: int) -> None:
    """A name stored as ``"<prefix>:<name>"`` must fit the server's 255-character column."""
    limit = owned_name_limit(prefix_length)
    if len(name) > limit:
        raise InvalidInputError(
            field, f"must be at most {limit} characters here, got {len(name)} (the server "
                   f"stores it after its parent id in a {MAX_NAME_LENGTH}-character column)")


def check_optional_text(
    field: str, value: object, *, long: bool = True, max_chars: int | None = None
) -> str | None:
    """An optional string field: a property value (MAX_TEXT_BYTES), or at most ``max_chars``
    characters for a column of its own (``long=False``)."""
    if value is None:
        return None
    if long and max_chars is None:
        return _check_text(field, value, max_chars=None, max_bytes=MAX_TEXT_BYTES)
    return _check_text(
        field, value, max_chars=max_chars or MAX_EXTERNAL_ID_LENGTH, max_bytes=None
    )


def check_uri(field: str, value: object, *, required: bool = True) -> str | None:
    """An artifact URI: non-blank, no control characters, at most MAX_URI_BYTES."""
    if value is None:
        if required:
            raise InvalidInputError(field, "is required")
        return None
    text = _check_text(field, value, max_chars=None, max_bytes=MAX_URI_BYTES)
    if not text.strip():
        raise InvalidInputError(field, "must not be empty or blank")
    if text != text.strip():
        raise InvalidInputError(field, "must not start or end with white space")
    # C0, DEL and C1 (U+0080..U+009F): every character of Unicode category Cc.
    if _CONTROL.search(text):
        raise InvalidInputError(field, "must not contain control characters")
    return text


def check_link(field: str, value: object) -> str:
    """A ``format: uri`` field (a model's logo or license link): an absolute URI, as the
    server requires (a data URL is one)."""
    text = _check_text(field, value, max_chars=None, max_bytes=MAX_TEXT_BYTES)
    if not URI_PATTERN.fullmatch(text):
        raise InvalidInputError(field, f"must be an absolute URI (scheme:...), got "
                                       f"{text[:80]!r}")
    return text


def check_int64(field: str, value: object) -> str:
    """A ``format: int64`` string (an int is taken as its decimal text)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _INT64.fullmatch(text) \
            or not -(2**63) <= int(text) < 2**63:
        raise InvalidInputError(field, f"must be a 64-bit integer, got {value!r}")
    return str(int(text))


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


def check_id(field: str, value: object) -> str:
    """An entity id: a decimal string (or int) of a positive 32-bit integer."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (not isinstance(text, str) or not text.isascii() or not text.isdigit()
            or not 0 < int(text) < 2**31):
        raise InvalidInputError(field, f"must be a positive decimal id, got {value!r}")
    return str(int(text))


def check_number(field: str, value: object) -> float:
    """A metric value: an int or a finite float (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise InvalidInputError(field, "must be a finite number")
    return float(value)


def check_strings(field: str, value: object) -> list[str]:
    """A list of strings, each a property value (language, tasks)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(field, "must be a list of strings")
    for item in value:
        check_optional_text(field, item)
    return list(value)
