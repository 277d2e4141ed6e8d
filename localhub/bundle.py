"""Air-gap bundles: ``localhub export`` / ``localhub import``.

A bundle is one JSON file::

    {"format": "localhub-bundle", "format_version": 1, "created_at": "...Z",
     "source_database_uid": "...", "scope": "all" | "pending" | "models",
     "payload_sha256": "<hex SHA-256 of the canonical payload>",
     "payload": {"models": [{<model fields>, "versions": [{<version fields>,
                 "artifacts": [{"artifact_type": "model-artifact", <fields>}]}]}]}}

Entities are keyed by natural key (model name; version name in the model; artifact name in the
version), never by id. Import checks the whole file first (format, checksum, every entity
validated), then writes every new entity in ONE transaction through the store (outbox rows
included); an entity that exists with equal content is adopted, one that differs is reported as
a conflict and left as it is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from ._entities import SPECS, spec_for, validated_values
from .cells import METADATA_TYPES, encode_cell
from .codec import camel, decode_create
from .errors import BundleError, LocalHubError, NotFoundError, model_missing
from .paths import atomic_write
from .store import SQLiteStore
from .types import (
    ARTIFACT_TYPES,
    CP,
    Artifact,
    BaseResource,
    ModelVersion,
    RegisteredModel,
    facts,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_BUNDLE_BYTES",
    "ImportConflict",
    "ImportResult",
    "export_bundle",
    "import_bundle",
    "read_bundle",
]

FORMAT = "localhub-bundle"
FORMAT_VERSION = 1
#: Largest bundle ``import`` reads (64 MiB: tens of thousands of versions).
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ImportConflict:
    """An entity of the bundle that exists here with different content (left unchanged)."""

    entity: str
    key: str
    fields: tuple[str, ...]


@dataclass
class ImportResult:
    """What an import did: natural keys created and adopted, and the conflicts."""

    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    conflicts: list[ImportConflict] = field(default_factory=list)


def _canonical(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _fields(entity: BaseResource) -> dict[str, Any]:
    """The content of an entity as plain JSON data, without ids and times."""
    out: dict[str, Any] = {}
    for name, fact in facts(type(entity)).items():
        if fact.read_only or fact.ref:  # ids, times and the parent: a bundle nests by name
            continue
        value = getattr(entity, name)
        if name == CP:
            value = {key: encode_cell(v) for key, v in (value or {}).items()}
        elif isinstance(value, Enum):
            value = value.value
        out[name] = value
    if isinstance(entity, Artifact):
        out["artifact_type"] = entity.kind
    return out


def _wire_properties(props: Any, where: str) -> dict[str, Any]:
    """Bundle custom properties (``{"k": {"int_value": 3}}``) in the REST input form, so that
    the wire codec checks them exactly as it checks a request body."""
    if not isinstance(props, dict):
        raise BundleError(f"{where}: custom_properties must be an object")
    out: dict[str, Any] = {}
    for key, cell in props.items():
        if not isinstance(cell, dict) or len(cell) != 1 or next(iter(cell)) not in METADATA_TYPES:
            raise BundleError(f"{where}: custom property {key!r} must be an object with one "
                              f"of {', '.join(METADATA_TYPES)}; the bundle was not imported")
        ((payload, value),) = cell.items()
        if payload == "int_value" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # bundles write integers as JSON numbers, the wire as strings
        elif payload == "struct_value" and isinstance(value, str):
            value = base64.b64encode(value.encode("utf-8")).decode("ascii")
        out[key] = {"metadataType": METADATA_TYPES[payload], payload: value}
    return out


def _build(cls: type[BaseResource], data: dict[str, Any], where: str) -> BaseResource:
    """An entity from bundle data, every value checked by the REST API's own decoder and
    validation; BundleError when the data does not fit the type."""
    wire: dict[str, Any] = {camel(k): v for k, v in data.items()
                            if k not in ("versions", "artifacts", "artifact_type",
                                         "custom_properties")}
    if data.get("custom_properties") is not None:
        wire["customProperties"] = _wire_properties(data["custom_properties"], where)
    if cls is ModelVersion:
        wire["registeredModelId"] = "1"  # the parent is known by name, not id
    try:
        entity = decode_create(cls, wire, strict=True)
        validated_values(spec_for(cls), entity)
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise BundleError(f"{where}: {exc}; the bundle was not imported") from exc
    return entity


# -- export ------------------------------------------------------------------------------------

def _selection(store: SQLiteStore, pending: bool, models: tuple[str, ...]
               ) -> dict[str, set[str] | None]:
    """Model name -> version names to include (None: every version)."""
    if pending:
        chosen: dict[str, set[str] | None] = {}
        for change in store.pending():
            if change.model is None:
                continue
            versions = chosen.setdefault(change.model, set())
            if change.version is not None and versions is not None:
                versions.add(change.version)
        return chosen
    if models:
        for name in models:
            if store.find(RegisteredModel, name=name) is None:
                raise NotFoundError(model_missing(name), entity="registered model", key=name)
        return {name: None for name in models}
    return {m.name: None for m in store.list_page(RegisteredModel).items
            if isinstance(m, RegisteredModel)}


def build_payload(store: SQLiteStore, *, pending: bool = False, models: tuple[str, ...] = ()
                  ) -> dict[str, Any]:
    """The payload of a bundle: the chosen models with their versions and artifacts."""
    out: list[dict[str, Any]] = []
    for name, wanted in sorted(_selection(store, pending, models).items()):
        model = store.find(RegisteredModel, name=name)
        if model is None or model.id is None:
            continue
        entry = _fields(model)
        entry["versions"] = []
        for mv in store.list_page(ModelVersion, parent_id=model.id).items:
            if wanted is not None and mv.name not in wanted:
                continue
            assert mv.id is not None
            version = _fields(mv)
            version["artifacts"] = [_fields(a) for a in store.version_artifacts(mv.id)]
            entry["versions"].append(version)
        out.append(entry)
    return {"models": out}


def export_bundle(store: SQLiteStore, path: Path, *, pending: bool = False,
                  models: tuple[str, ...] = ()) -> dict[str, Any]:
    """Write a bundle file (atomically) and return its header (everything but the payload)."""
    payload = build_payload(store, pending=pending, models=models)
    bundle = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "source_database_uid": store.get_meta("database_uid"),
        "scope": "pending" if pending else "models" if models else "all",
        "payload_sha256": hashlib.sha256(_canonical(payload)).hexdigest(),
        "payload": payload,
    }
    text = json.dumps(bundle, indent=1, sort_keys=True, ensure_ascii=False)
    try:
        # A private file created exclusively beside the target, then renamed over it: an
        # existing file or symlink at ``path`` is replaced, never written through.
        atomic_write(path, text.encode("utf-8"))
    except OSError as exc:
        raise LocalHubError(f"cannot write {path} ({exc.strerror}); choose a writable "
                            "location") from exc
    header = {k: v for k, v in bundle.items() if k != "payload"}
    header["models"] = len(payload["models"])
    header["versions"] = sum(len(m["versions"]) for m in payload["models"])
    return header


# -- import ------------------------------------------------------------------------------------

def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    Opened without blocking (a FIFO would wait for a writer) and checked on the open file
    descriptor, so a symlink to a device, FIFO or folder is refused as well.
    """
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise BundleError(f"cannot read bundle {path} ({exc.strerror})", path=where) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BundleError(f"{path} is not a regular file; nothing was imported: give the "
                              "bundle file written by `localhub export`", path=where)
        if info.st_size > limit:
            raise BundleError(f"{path} is {info.st_size} bytes, more than the {limit} bytes a "
                              "bundle may have; nothing was imported: export fewer models per "
                              "bundle (--model NAME)", path=where)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise BundleError(f"cannot read bundle {path} ({exc.strerror})", path=where) from exc
    finally:
        os.close(fd)
    if len(raw) > limit:  # grew while read
        raise BundleError(f"{path} is larger than the {limit} bytes a bundle may have; "
                          "nothing was imported", path=where)
    return raw


def read_bundle(path: Path, *, max_bytes: int = MAX_BUNDLE_BYTES) -> dict[str, Any]:
    """The bundle's payload after checking format and checksum; BundleError otherwise."""
    where = str(path)
    raw = _read_regular(path, max_bytes)
    try:
        bundle = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not a localhub bundle or is truncated ({exc}); nothing "
                          "was imported: copy the file again", path=where) from exc
    except RecursionError:
        raise BundleError(f"{path} is not a localhub bundle (JSON nested too deeply); nothing "
                          "was imported", path=where) from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise BundleError(f"{path} is not a localhub bundle (no \"format\": \"{FORMAT}\"); "
                          "nothing was imported", path=where)
    version = bundle.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(f"{path} has bundle format version {version!r}; this localhub reads "
                          f"version {FORMAT_VERSION} (upgrade localhub); nothing was imported",
                          path=where)
    payload = bundle.get("payload")
    digest = hashlib.sha256(_canonical(payload)).hexdigest()
    if digest != bundle.get("payload_sha256"):
        raise BundleError(f"{path} is damaged: its SHA-256 checksum does not match; nothing "
                          "was imported: export and copy it again", path=where)
    if not isinstance(payload, dict) or not isinstance(payload.get("models"), list):
        raise BundleError(f"{path}: payload has no list of models", path=where)
    return payload


@dataclass
class _Node:
    entity: BaseResource
    key: str
    existing: BaseResource | None
    children: list[_Node] = field(default_factory=list)


def _list(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BundleError(f"{where}: {key} must be a list of objects")
    return items


def _plan(store: SQLiteStore, payload: dict[str, Any], path: str) -> list[_Node]:
    """Every bundle entity, validated, paired with what exists here (read before writing)."""
    nodes: list[_Node] = []
    seen: set[str] = set()

    def once(label: str, key: str) -> None:
        # A second entry with the same natural key would fail inside the write transaction
        # and be reported by a rolled-back id; name it here, before anything is written.
        if key in seen:
            raise BundleError(f"{path}: {label} {key!r} appears twice in the bundle; nothing "
                              "was imported: remove one of the entries", path=path)
        seen.add(key)

    for i, m in enumerate(_list(payload, "models", path)):
        model = _build(RegisteredModel, m, f"{path}: models[{i}]")
        assert isinstance(model, RegisteredModel)
        once("model", model.name)
        here = store.find(RegisteredModel, name=model.name)
        node = _Node(model, model.name, here)
        for j, v in enumerate(_list(m, "versions", f"{path}: model {model.name}")):
            version = _build(ModelVersion, v, f"{path}: model {model.name} versions[{j}]")
            assert isinstance(version, ModelVersion)
            key = f"{model.name}:{version.name}"
            once("version", key)
            mv_here = None if here is None or here.id is None else store.find(
                ModelVersion, name=version.name, parent_id=here.id)
            vnode = _Node(version, key, mv_here)
            for a in _list(v, "artifacts", f"{path}: version {key}"):
                cls = ARTIFACT_TYPES.get(str(a.get("artifact_type")))
                if cls is None:
                    raise BundleError(f"{path}: version {key}: unknown artifact_type "
                                      f"{a.get('artifact_type')!r}")
                artifact = _build(cls, a, f"{path}: version {key} artifact")
                assert isinstance(artifact, Artifact)
                if not artifact.name:
                    raise BundleError(f"{path}: version {key}: an artifact has no name")
                once("artifact", f"{key}:{artifact.name}")
                a_here = None if mv_here is None or mv_here.id is None else store.find(
                    cls, name=artifact.name, parent_id=mv_here.id)
                vnode.children.append(_Node(artifact, f"{key}:{artifact.name}", a_here))
            node.children.append(vnode)
        nodes.append(node)
    return nodes


def _compare(node: _Node, result: ImportResult) -> None:
    assert node.existing is not None
    ours, theirs = _fields(node.existing), _fields(node.entity)
    differing = tuple(sorted(k for k in ours.keys() | theirs.keys()
                             if ours.get(k) != theirs.get(k)))
    if differing:
        result.conflicts.append(ImportConflict(spec_for(node.entity).label, node.key, differing))
    else:
        result.adopted.append(node.key)


def import_bundle(store: SQLiteStore, path: Path) -> ImportResult:
    """Import a bundle: all new entities in one transaction, equal ones adopted, rest conflicts.

    A damaged or invalid bundle raises ``BundleError`` before anything is written.
    """
    nodes = _plan(store, read_bundle(path), str(path))
    result = ImportResult()
    with store.db.write() as conn:
        for node in nodes:
            if node.existing is None:
                model_id: str | None = str(store.insert_row(
                    conn, SPECS[RegisteredModel], validated_values(SPECS[RegisteredModel],
                                                                   node.entity)))
                result.created.append(node.key)
            else:
                model_id = node.existing.id
                _compare(node, result)
            for vnode in node.children:
                if vnode.existing is None:
                    assert isinstance(vnode.entity, ModelVersion)
                    vnode.entity.registered_model_id = model_id
                    values = validated_values(SPECS[ModelVersion], vnode.entity)
                    version_id: str | None = str(
                        store.insert_row(conn, SPECS[ModelVersion], values))
                    result.created.append(vnode.key)
                else:
                    version_id = vnode.existing.id
                    _compare(vnode, result)
                for anode in vnode.children:
                    if anode.existing is None:
                        spec = spec_for(anode.entity)
                        store.insert_row(conn, spec, validated_values(spec, anode.entity),
                                      version_id=version_id)
                        result.created.append(anode.key)
                    else:
                        _compare(anode, result)
    return result
