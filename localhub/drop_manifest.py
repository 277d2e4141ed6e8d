"""The ``localhub.json`` manifest of a drop folder: what it may hold and the entry it describes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ManifestError
from .formats import guess_format
from .types import SupportedTypes

__all__ = ["MANIFEST", "MANIFEST_MAX_BYTES", "Entry", "parse_manifest"]

MANIFEST = "localhub.json"
_MANIFEST_KEYS = {"name", "version", "uri", "format", "format_version", "description", "author",
                  "metadata"}
#: A manifest is a few lines of JSON; a bigger file in a shared folder is not read into memory.
MANIFEST_MAX_BYTES = 1 << 20


@dataclass
class Entry:
    """One model version to register, from a manifest or the folder convention."""

    name: str
    version: str
    uri: str
    model_format_name: str | None
    model_format_version: str | None = None
    description: str | None = None
    author: str | None = None
    metadata: dict[str, SupportedTypes] = field(default_factory=dict)


def _check_metadata(path: Path, value: Any) -> dict[str, SupportedTypes]:
    if not isinstance(value, dict):
        raise ManifestError("metadata must be an object of key: value", path=str(path))
    for key, item in value.items():
        if not isinstance(item, (bool, int, float, str)):
            raise ManifestError(f"metadata {key!r} must be a bool, number or string, not "
                                f"{type(item).__name__}", path=str(path))
    return dict(value)


def parse_manifest(path: Path, *, name: str | None = None, version: str | None = None
                   ) -> Entry:
    """The entry a manifest describes; ``name``/``version`` are defaults from the folders."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MANIFEST_MAX_BYTES + 1)
        if len(raw) > MANIFEST_MAX_BYTES:
            raise ManifestError(f"larger than {MANIFEST_MAX_BYTES // 1024} KiB; a manifest "
                                "holds a few fields (put files beside it)", path=str(path))
        data = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read ({exc})", path=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(f"not valid JSON: {exc.msg} at line {exc.lineno} column "
                            f"{exc.colno}", path=str(path)) from exc
    if not isinstance(data, dict):
        raise ManifestError("must be a JSON object", path=str(path))
    unknown = sorted(set(data) - _MANIFEST_KEYS)
    if unknown:
        raise ManifestError(f"unknown key(s) {', '.join(unknown)}; allowed: "
                            f"{', '.join(sorted(_MANIFEST_KEYS))}", path=str(path))
    for key in _MANIFEST_KEYS - {"metadata"}:
        if key in data and not isinstance(data[key], str):
            raise ManifestError(f"{key} must be a string", path=str(path))
    name = data.get("name", name)
    version = data.get("version", version)
    if not name or not version:
        missing = "name" if not name else "version"
        raise ManifestError(f"{missing} is required", path=str(path))
    folder = path.parent
    return Entry(
        name=name, version=version, uri=data.get("uri") or folder.resolve().as_uri(),
        model_format_name=data.get("format") or guess_format(folder, ignore=frozenset({MANIFEST})),
        model_format_version=data.get("format_version"), description=data.get("description"),
        author=data.get("author"), metadata=_check_metadata(path, data.get("metadata", {})))
