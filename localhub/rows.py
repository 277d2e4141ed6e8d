"""Entity rows of the SQLite store: insert, write, parents, subtrees and duplicate errors.

The writers every store path shares (CRUD, registration, bundles, pulled rows), each inside
the caller's ``db.write()`` transaction. Recording a change in the outbox is the caller's
choice (``record``), made through :mod:`localhub.outbox`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from . import outbox
from ._entities import EntitySpec, check_id, check_stored_name, row_values
from .errors import DuplicateError, InvalidInputError, NotFoundError, StoreError
from .types import BaseResource, ModelVersion, RegisteredModel

__all__ = ["PARENTS", "changed_fields", "duplicate", "insert", "new_uid", "overlay", "queue",
           "require_parent", "row_id", "subtree", "write"]

T = TypeVar("T", bound=BaseResource)

#: Kind -> (parent table, parent kind, label) of the entities with a parent field.
PARENTS: dict[str, tuple[str, str, str]] = {
    ModelVersion.kind: ("contexts", RegisteredModel.kind, "registered model"),
    "inference-service": ("contexts", "serving-environment", "serving environment"),
    "serve-model": ("contexts", "inference-service", "inference service"),
}

_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def overlay(current: T, entity: BaseResource) -> T:
    """``current`` with the set fields of ``entity``: None fields and an empty
    ``custom_properties`` map keep the stored values (the official client's update)."""
    names = _FIELD_NAMES.get(type(entity))
    if names is None:
        names = _FIELD_NAMES[type(entity)] = tuple(f.name for f in dataclasses.fields(entity))
    changes = {name: value for name in names if (value := getattr(entity, name)) is not None}
    if not entity.custom_properties:
        changes.pop("custom_properties", None)
    return dataclasses.replace(current, **changes)


def new_uid() -> str:
    """A new entity uid: 32 hex digits, the time in ms then 80 random bits (as UUIDv7 does).

    Time-ordered uids land at the end of the uid indexes, so a large store's inserts touch
    the same few index pages instead of a random page each (fewer pages per commit, fewer
    cache misses); the random part keeps them unique across processes and devices.
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def row_id(entity_id: str | int) -> int | None:
    """The row id an entity id names, or None when it is not a valid id."""
    try:
        return int(check_id("id", entity_id))
    except InvalidInputError:
        return None


def queue(conn: sqlite3.Connection, spec: EntitySpec, uid: str, row: int, op: str,
          changed: list[str] | set[str] | tuple[str, ...], now: int) -> None:
    """Record ``op`` of ``changed`` for an entity in the outbox (the caller's transaction)."""
    outbox.record(conn, table=spec.table, kind=spec.kind, uid=uid, row_id=row, op=op,
                  fields=changed, now=now)


def require_parent(conn: sqlite3.Connection, table: str, kind: str, parent_id: str | int,
                   label: str) -> int:
    """The row id of the parent ``parent_id`` of ``kind``; NotFoundError when it is none."""
    parent = row_id(parent_id)
    row = None if parent is None else conn.execute(
        f"SELECT kind FROM {table} WHERE id = ?", (parent,)).fetchone()
    if row is None or row[0] != kind:
        raise NotFoundError(f"no {label} found for id {parent_id}", entity=label,
                            key=str(parent_id))
    assert parent is not None
    return parent


def insert(conn: sqlite3.Connection, spec: EntitySpec, values: dict[str, Any], *,
           parent: int, now: int, record: bool = True, origin: str = "local",
           uid: str | None = None) -> dict[str, Any]:
    """Insert under an already checked ``parent`` row id; the stored row as a dict.

    ``record`` queues the create; ``origin`` is "remote" for pulled rows (never queued).
    """
    if values.get("name") is None:
        values["name"] = str(uuid.uuid4())
    elif values["name"] == "":
        # An artifact's empty name: the server stores the bare owner prefix and reads it
        # back as the name (converter.PrefixWhenOwned / MapNameFromOwned): the version id,
        # or a UUID for an artifact of no version.
        values["name"] = str(parent) if parent else str(uuid.uuid4())
    elif origin == "local":  # a pulled name already fits the remote's column
        check_stored_name(spec, values["name"], parent)
    row = row_values(spec, values)
    uid = uid or new_uid()
    row.update(create_time=now, update_time=now, uid=uid, origin=origin)
    row[spec.parent_column] = parent
    try:
        cursor = conn.execute(
            f"INSERT INTO {spec.table} ({', '.join(row)}) VALUES "
            f"({', '.join('?' * len(row))})", list(row.values()))
    except sqlite3.IntegrityError as exc:
        raise duplicate(spec, values, exc, parent=parent) from exc
    row["id"] = int(cursor.lastrowid or 0)
    if record:
        created = [f for f in ("name", "description", "external_id", "custom_properties",
                               spec.state_field, *spec.columns, *spec.attr_fields)
                   if f and values.get(f) not in (None, {}, [])]
        queue(conn, spec, uid, row["id"], "create", created, now)
    return row


def write(conn: sqlite3.Connection, spec: EntitySpec, current: sqlite3.Row,
          values: dict[str, Any], clock: Callable[[], int]) -> tuple[list[str], dict[str, Any]]:
    """Write ``values`` onto ``current``: (changed domain field names, the row afterwards).

    Immutable columns keep their stored values; only changed columns are written and only
    then is ``update_time`` bumped. Queues nothing.
    """
    values["name"] = current["name"]
    new = row_values(spec, values)
    new.pop("kind")
    new.pop("name")
    row = dict(current)
    changed = [col for col, value in new.items() if current[col] != value]
    if not changed:
        return [], row
    now = max(clock(), current["update_time"])
    sets = ", ".join(f"{col} = ?" for col in changed)
    conn.execute(f"UPDATE {spec.table} SET {sets}, update_time = ? WHERE id = ?",
                 [new[col] for col in changed] + [now, current["id"]])
    row.update(new)
    row["update_time"] = now
    return changed_fields(spec, current, new, changed), row


def changed_fields(spec: EntitySpec, current: sqlite3.Row, new: dict[str, Any],
                   changed: list[str]) -> list[str]:
    """Translate changed columns into domain field names."""
    out: list[str] = []
    for col in changed:
        if col == "attrs":
            old_attrs = json.loads(current["attrs"])
            new_attrs = json.loads(new["attrs"])
            out.extend(k for k in set(old_attrs) | set(new_attrs)
                       if old_attrs.get(k) != new_attrs.get(k))
        elif col == "state":
            out.append(spec.state_field or "state")
        else:
            out.append(col)
    return out


def duplicate(spec: EntitySpec, values: dict[str, Any], exc: sqlite3.IntegrityError, *,
              parent: int = 0) -> StoreError:
    """The store error for a failed write: DuplicateError for a taken name or external id."""
    text = str(exc)
    if "external_id" in text:
        return DuplicateError(
            f"{spec.label} with external id {values.get('external_id')!r} already exists "
            "(external ids are unique across models, versions and serving entities)",
            entity=spec.label, key=str(values.get("external_id")))
    if "UNIQUE" in text:
        where = f" in parent {parent}" if parent else ""
        return DuplicateError(
            f"{spec.label} with name {values.get('name')!r} already exists{where}",
            entity=spec.label, key=str(values.get("name")))
    return StoreError(f"cannot write {spec.label}: {exc}")


def subtree(conn: sqlite3.Connection, table: str, row: int) -> list[tuple[str, str]]:
    """(table, uid) of an entity and everything below it."""
    found = conn.execute(f"SELECT uid, kind FROM {table} WHERE id = ?", (row,)).fetchone()
    out = [(table, str(found["uid"]))]
    if table == "contexts":
        if found["kind"] == RegisteredModel.kind:
            for child in conn.execute("SELECT id FROM contexts WHERE kind = ? AND parent_id = ?",
                                      (ModelVersion.kind, row)).fetchall():
                out.extend(subtree(conn, "contexts", child[0]))
        elif found["kind"] == ModelVersion.kind:
            for child in conn.execute("SELECT uid FROM artifacts WHERE version_id = ?",
                                      (row,)).fetchall():
                out.append(("artifacts", str(child["uid"])))
    return out
