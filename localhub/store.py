"""The local registry on SQLite: entities, listings and the change outbox.

Every mutation writes its entity rows and its outbox rows in one transaction. The store speaks
domain types only; rows stay inside this module and ``_entities``.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import dataclasses
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast

from ._entities import (
    SPECS,
    SPECS_BY_KIND,
    EntitySpec,
    check_id,
    check_stored_name,
    compact_json,
    from_row,
    row_values,
    spec_for,
    validated_values,
)
from .db import Database, Synchronous
from .errors import (
    DeleteNotAllowedError,
    DuplicateError,
    InvalidInputError,
    InvalidPageTokenError,
    NotFoundError,
    StoreError,
)
from .types import (
    Artifact,
    BaseResource,
    ModelArtifact,
    ModelVersion,
    RegisteredModel,
    SupportedTypes,
)
from .validation import check_lookup_text

__all__ = ["SQLiteStore", "Page", "PendingChange", "OrderBy", "SortOrder"]

T = TypeVar("T", bound=BaseResource)
OrderBy = Literal["ID", "CREATE_TIME", "LAST_UPDATE_TIME"]
SortOrder = Literal["ASC", "DESC"]

_ORDER_COLUMNS: dict[str, str] = {
    "ID": "id",
    "CREATE_TIME": "create_time",
    "LAST_UPDATE_TIME": "update_time",
}
_FILTER_ENTITY = {"contexts": None, "artifacts": "artifact", "executions": "serve-model"}


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_page_token`` is empty on the last page."""

    items: list[T]
    next_page_token: str
    page_size: int


@dataclass(frozen=True)
class PendingChange:
    """A queued local change that no remote has acknowledged yet."""

    seq: int
    entity: str
    entity_id: str
    op: str
    fields: tuple[str, ...]
    model: str | None
    version: str | None
    artifact: str | None
    created_at: str


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
#: Largest page size passed on to SQLite (its integers are 64-bit).
_MAX_PAGE = 2**62


def _overlay(current: T, entity: BaseResource) -> T:
    """``current`` with the set fields of ``entity``: None fields and an empty
    ``custom_properties`` map keep the stored values (the official client's update)."""
    names = _FIELD_NAMES.get(type(entity))
    if names is None:
        names = _FIELD_NAMES[type(entity)] = tuple(f.name for f in dataclasses.fields(entity))
    changes = {name: value for name in names if (value := getattr(entity, name)) is not None}
    if not entity.custom_properties:
        changes.pop("custom_properties", None)
    return dataclasses.replace(current, **changes)


def _new_uid() -> str:
    """A new entity uid: 32 hex digits, the time in ms then 80 random bits (as UUIDv7 does).

    Time-ordered uids land at the end of the uid indexes, so a large store's inserts touch
    the same few index pages instead of a random page each (fewer pages per commit, fewer
    cache misses); the random part keeps them unique across processes and devices.
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _encode_token(row_id: int, value: object) -> str:
    return base64.b64encode(f"{row_id}:{value}".encode()).decode()


def _decode_token(token: str) -> tuple[int, int]:
    if len(token) > 1024:
        raise InvalidPageTokenError("invalid nextPageToken: longer than 1024 characters")
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True).decode("ascii")
        row_id, value = raw.split(":", 1)
        numbers = int(row_id), int(value)
        # Both go to SQLite as 64-bit integers: a forged larger one would not bind.
        if not all(t.removeprefix("-").isdigit() and len(t) <= 20 for t in (row_id, value)) \
                or not all(-(2**63) <= n < 2**63 for n in numbers):
            raise ValueError("not a token")
        return numbers
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidPageTokenError(
            f"invalid nextPageToken {token[:40]!r}: pass a token returned by a previous page, "
            "or none for the first page"
        ) from None


class SQLiteStore:
    """The registry's entities in one SQLite file.

    (Annotations say ``builtins.list`` because the ``list`` method shadows it in this class.)

    ``clock`` returns epoch milliseconds; tests pass their own.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float | None = None,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        self.db = Database(path, synchronous=synchronous, busy_timeout=busy_timeout)
        self.clock = clock

    @property
    def path(self) -> str:
        return self.db.path

    def batch(self) -> AbstractContextManager[None]:
        """Many writes, one transaction and one durable commit (see ``Database.batch``)."""
        return self.db.batch()

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    # -- reads --------------------------------------------------------------------------------

    def get(self, cls: type[T], entity_id: str | int) -> T | None:
        """The entity of type ``cls`` with this id, or None (also for ids of other types)."""
        row_id = self._row_id(entity_id)
        if row_id is None:
            return None
        kinds = self._kinds(cls)
        table = self._table(cls)
        row = self.db.query_one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
        if row is None or row["kind"] not in kinds:
            return None
        return cast(T, from_row(SPECS_BY_KIND[row["kind"]], row))

    def find(
        self,
        cls: type[T],
        *,
        name: str | None = None,
        parent_id: str | int | None = None,
        external_id: str | None = None,
    ) -> T | None:
        """The one entity matching an exact name (within ``parent_id``) and/or external id."""
        if name is None and external_id is None:
            raise TypeError("find() needs name or external_id")
        if name is not None:
            check_lookup_text(f"{cls.__name__}.name", name)
        if external_id is not None:
            check_lookup_text(f"{cls.__name__}.external_id", external_id)
        clauses, params = self._kind_clause(cls)
        table = self._table(cls)
        if name is not None:
            clauses.append("name = ?")
            params.append(name)
            parent = 0 if parent_id is None else self._row_id(parent_id)
            if parent is None:
                return None
            clauses.append(f"{self._parent_column(cls)} = ?")
            params.append(parent)
        if external_id is not None:
            clauses.append("external_id = ?")
            params.append(external_id)
        sql = f"SELECT * FROM {table} WHERE {' AND '.join(clauses)} LIMIT 2"
        with self.db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        if len(rows) != 1:
            return None
        return cast(T, from_row(SPECS_BY_KIND[rows[0]["kind"]], rows[0]))

    def find_version(self, model_name: str, version_name: str
                     ) -> tuple[bool, ModelVersion | None]:
        """(whether the model exists, its version of that name or None), in one query."""
        check_lookup_text("RegisteredModel.name", model_name)
        check_lookup_text("ModelVersion.name", version_name)
        sql = """
            SELECT m.id AS model_id, v.* FROM contexts AS m
            LEFT JOIN contexts AS v ON v.kind = ? AND v.parent_id = m.id AND v.name = ?
            WHERE m.kind = ? AND m.parent_id = 0 AND m.name = ?
        """
        row = self.db.query_one(sql, (ModelVersion.kind, version_name, RegisteredModel.kind,
                                      model_name))
        if row is None:
            return False, None
        if row["id"] is None:
            return True, None
        return True, cast(ModelVersion, from_row(SPECS[ModelVersion], row))

    def list(
        self,
        cls: type[T],
        *,
        parent_id: str | int | None = None,
        kinds: Sequence[str] | None = None,
        filter_query: str | None = None,
        order_by: OrderBy | str | None = None,
        sort_order: SortOrder | str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> Page[T]:
        """One page of entities, keyset-paged; no ``page_size`` returns everything.

        Ordering is by ``order_by`` then id, so equal timestamps never skip or repeat rows
        across pages, and the same data always yields the same tokens.
        """
        table = self._table(cls)
        clauses, params = self._kind_clause(cls, kinds)
        if parent_id is not None:
            parent = self._row_id(parent_id)
            if parent is None:
                return Page([], "", page_size or 0)
            clauses.append(f"t.{self._parent_column(cls)} = ?")
            params.append(parent)
        if filter_query and filter_query.strip():
            from .filterquery import compile_filter

            entity = _FILTER_ENTITY[table] or spec_for(cls).kind
            sql, filter_params = compile_filter(filter_query, entity, alias="t")
            clauses.append(f"({sql})")
            params.extend(filter_params)
        order_key = (order_by or "ID").upper()
        column = _ORDER_COLUMNS.get(order_key, "id")
        descending = (sort_order or "ASC").upper() == "DESC"
        if page_token:
            last_id, last_value = _decode_token(page_token)
            op = "<" if descending else ">"
            if column == "id":
                clauses.append(f"t.id {op} ?")
                params.append(last_id)
            else:
                clauses.append(f"(t.{column} {op} ? OR (t.{column} = ? AND t.id {op} ?))")
                params.extend([last_value, last_value, last_id])
        direction = "DESC" if descending else "ASC"
        order_sql = (
            f"t.id {direction}" if column == "id" else f"t.{column} {direction}, t.id {direction}"
        )
        where = " AND ".join(clauses) or "1"
        sql = f"SELECT * FROM {table} AS t WHERE {where} ORDER BY {order_sql}"
        limit = page_size if page_size and page_size > 0 else None
        if limit is not None:
            limit = min(limit, _MAX_PAGE)  # any larger page is "everything" for SQLite
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit + 1)
        with self.db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        next_token = ""
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_token = _encode_token(last["id"], last[column])
        # Each row's kind is one of ``cls``'s kinds (the WHERE clause), so each item is a T.
        items = [cast(T, from_row(SPECS_BY_KIND[row["kind"]], row)) for row in rows]
        return Page(items, next_token, page_size or 0)

    def version_artifacts(self, version_id: str | int) -> builtins.list[Artifact]:
        """Every artifact of a model version, oldest first."""
        return self.list(Artifact, parent_id=version_id).items

    def artifact_version_id(self, artifact_id: str | int) -> str | None:
        """The model version an artifact belongs to (None for a top-level artifact)."""
        row_id = self._row_id(artifact_id)
        with self.db.read() as conn:
            row = conn.execute("SELECT version_id FROM artifacts WHERE id = ?",
                               (row_id,)).fetchone()
        return str(row[0]) if row is not None and row[0] else None

    def attach_artifact(self, artifact_id: str | int, version_id: str | int, *,
                        record: bool = True) -> Artifact:
        """Link an artifact of no version to a model version (the row moves, no copy).

        Queues an update of the pseudo-field ``version_id`` so that a push links it remotely.
        NotFoundError for a missing artifact or version; InvalidInputError when the artifact
        belongs to another version; DuplicateError when the version has one of that name.
        """
        row_id = self._row_id(artifact_id)
        with self.db.write() as conn:
            row = None if row_id is None else conn.execute(
                "SELECT * FROM artifacts WHERE id = ?", (row_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no artifact found for id {artifact_id}",
                                    entity="artifact", key=str(artifact_id))
            parent = self._require_parent(conn, "contexts", ModelVersion.kind, version_id,
                                          "model version")
            spec = SPECS_BY_KIND[row["kind"]]
            if row["version_id"] not in (0, parent):
                raise InvalidInputError(f"{spec.cls.__name__}.id", f"belongs to model version "
                                        f"{row['version_id']}; an artifact has one version")
            if row["version_id"] == 0:
                check_stored_name(spec, row["name"], parent)
                try:
                    conn.execute("UPDATE artifacts SET version_id = ?, update_time = ? "
                                 "WHERE id = ?",
                                 (parent, max(self.clock(), row["update_time"]), row_id))
                except sqlite3.IntegrityError as exc:
                    raise self._duplicate(spec, dict(row), exc, parent=parent) from exc
                if record:
                    self._record(conn, spec, row["uid"], int(row["id"]), "update",
                                 ["version_id"])
            row = conn.execute("SELECT * FROM artifacts WHERE id = ?", (row_id,)).fetchone()
        return cast(Artifact, from_row(spec, row))

    # -- writes -------------------------------------------------------------------------------

    def create(self, entity: T, *, version_id: str | int | None = None,
               record: bool = True) -> T:
        """Insert a new entity (artifacts under ``version_id``) and queue it for sync."""
        spec = spec_for(entity)
        values = validated_values(spec, entity)
        with self.db.write() as conn:
            row_id = self.insert_row(conn, spec, values, version_id=version_id, record=record)
            row = conn.execute(f"SELECT * FROM {spec.table} WHERE id = ?", (row_id,)).fetchone()
        return cast(T, from_row(spec, row))

    def update(self, entity: T, *, record: bool = True, keep_unset: bool = False) -> T:
        """Write every mutable field of ``entity`` (found by its id) and queue the change.

        Immutable fields (name, parent, type) keep their stored values, as on the server.
        An update that changes nothing writes nothing. With ``keep_unset``, fields that are
        None (and an empty ``custom_properties``) keep their stored values, as the official
        client's update does; the read and the write are then one transaction.
        """
        spec = spec_for(entity)
        if not entity.id:
            raise StoreError("Model must have an ID")
        row_id = self._row_id(entity.id)
        values = None if keep_unset else validated_values(spec, entity)
        with self.db.write() as conn:
            current = None if row_id is None else conn.execute(
                f"SELECT * FROM {spec.table} WHERE id = ?", (row_id,)).fetchone()
            if current is None or current["kind"] != spec.kind:
                raise NotFoundError(f"no {spec.label} found for id {entity.id}",
                                    entity=spec.label, key=str(entity.id))
            assert row_id is not None
            if values is None:
                values = validated_values(spec, _overlay(from_row(spec, current), entity))
            try:
                changed, row = self._write(conn, spec, current, values)
            except sqlite3.IntegrityError as exc:
                raise self._duplicate(spec, values, exc) from exc
            if changed and record:
                self._record(conn, spec, current["uid"], row_id, "update", changed)
        return cast(T, from_row(spec, row))

    def register_model(
        self,
        name: str,
        uri: str,
        *,
        version: str,
        model_format_name: str | None = None,
        model_format_version: str | None = None,
        author: str | None = None,
        owner: str | None = None,
        version_description: str | None = None,
        metadata: Mapping[str, SupportedTypes] | None = None,
        artifact_fields: Mapping[str, str | None] | None = None,
    ) -> tuple[RegisteredModel, ModelVersion, ModelArtifact]:
        """Model (reused if it exists), version and artifact in ONE transaction.

        Raises ``DuplicateError`` ("Version X already exists") and leaves nothing behind when
        the version exists.
        """
        rows = self._register_rows(name, uri, version=version,
                                   model_format_name=model_format_name,
                                   model_format_version=model_format_version, author=author,
                                   owner=owner, version_description=version_description,
                                   metadata=metadata, artifact_fields=artifact_fields)
        return (
            cast(RegisteredModel, from_row(SPECS[RegisteredModel], rows[0])),
            cast(ModelVersion, from_row(SPECS[ModelVersion], rows[1])),
            cast(ModelArtifact, from_row(SPECS[ModelArtifact], rows[2])),
        )

    def register(self, name: str, uri: str, *, version: str, **options: Any) -> RegisteredModel:
        """``register_model`` returning only the model (what the facades return), without
        building the version and artifact objects."""
        rm_row = self._register_rows(name, uri, version=version, **options)[0]
        return cast(RegisteredModel, from_row(SPECS[RegisteredModel], rm_row))

    def _register_rows(
        self,
        name: str,
        uri: str,
        *,
        version: str,
        model_format_name: str | None = None,
        model_format_version: str | None = None,
        author: str | None = None,
        owner: str | None = None,
        version_description: str | None = None,
        metadata: Mapping[str, SupportedTypes] | None = None,
        artifact_fields: Mapping[str, str | None] | None = None,
    ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        model = RegisteredModel(name=name, owner=owner)
        model_values = validated_values(SPECS[RegisteredModel], model)
        version_values = validated_values(
            SPECS[ModelVersion],
            ModelVersion(name=version, author=author, description=version_description,
                         custom_properties=metadata, registered_model_id="1"),
        )
        artifact_values = validated_values(
            SPECS[ModelArtifact],
            ModelArtifact(name=name, uri=uri, model_format_name=model_format_name,
                          model_format_version=model_format_version,
                          **cast("dict[str, Any]", dict(artifact_fields or {}))),
        )
        if artifact_values["uri"] is None:
            raise InvalidInputError("ModelArtifact.uri", "is required")
        with self.db.write() as conn:
            found = conn.execute(
                "SELECT * FROM contexts WHERE kind = ? AND parent_id = 0 AND name = ?",
                (RegisteredModel.kind, name),
            ).fetchone()
            rm_row = found if found is not None else self._insert(
                conn, SPECS[RegisteredModel], model_values, parent=0)
            version_values["registered_model_id"] = str(rm_row["id"])
            try:
                mv_row = self._insert(conn, SPECS[ModelVersion], version_values,
                                      parent=rm_row["id"])
            except DuplicateError as exc:
                raise DuplicateError(f"Version {version} already exists",
                                     entity="model version", key=f"{name}:{version}") from exc
            ma_row = self._insert(conn, SPECS[ModelArtifact], artifact_values,
                                  parent=mv_row["id"])
        return rm_row, mv_row, ma_row

    def delete(self, entity: BaseResource) -> None:
        """Remove a never-synced entity, its children and their queued changes."""
        spec = spec_for(entity)
        row_id = self._row_id(entity.id or "")
        with self.db.write() as conn:
            row = None if row_id is None else conn.execute(
                f"SELECT * FROM {spec.table} WHERE id = ?", (row_id,)).fetchone()
            if row is None or row["kind"] != spec.kind:
                raise NotFoundError(f"no {spec.label} found for id {entity.id}",
                                    entity=spec.label, key=str(entity.id))
            assert row_id is not None
            doomed = self._subtree(conn, spec.table, row_id)
            for table, uid in doomed:
                if self._is_synced(conn, table, uid):
                    raise DeleteNotAllowedError(spec.label, str(row["name"]))
            for table, uid in doomed:
                conn.execute(f"DELETE FROM {table} WHERE uid = ?", (uid,))
                conn.execute("DELETE FROM outbox WHERE entity_uid = ?", (uid,))

    # -- outbox -------------------------------------------------------------------------------

    def pending(self) -> builtins.list[PendingChange]:
        """Every queued change, oldest first, with the names of what it touches."""
        sql = """
            SELECT o.*, c.kind AS c_kind, c.name AS c_name, cp.name AS c_parent,
                   a.name AS a_name, av.name AS a_version, am.name AS a_model
            FROM outbox AS o
            LEFT JOIN contexts AS c ON o.entity_table = 'contexts' AND c.uid = o.entity_uid
            LEFT JOIN contexts AS cp ON c.kind = 'model-version' AND cp.id = c.parent_id
            LEFT JOIN artifacts AS a ON o.entity_table = 'artifacts' AND a.uid = o.entity_uid
            LEFT JOIN contexts AS av ON av.id = a.version_id
            LEFT JOIN contexts AS am ON am.id = av.parent_id
            ORDER BY o.seq
        """
        with self.db.read() as conn:
            rows = conn.execute(sql).fetchall()
        changes = []
        for row in rows:
            model = version = artifact = None
            if row["entity_table"] == "contexts":
                if row["c_kind"] == ModelVersion.kind:
                    model, version = row["c_parent"], row["c_name"]
                else:
                    model = row["c_name"]
            elif row["entity_table"] == "artifacts":
                model, version, artifact = row["a_model"], row["a_version"], row["a_name"]
            changes.append(PendingChange(
                seq=row["seq"], entity=row["entity_kind"], entity_id=str(row["entity_id"]),
                op=row["op"], fields=tuple(json.loads(row["fields"])), model=model,
                version=version, artifact=artifact, created_at=str(row["created_at"]),
            ))
        return changes

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A value of the ``meta`` table."""
        with self.db.read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the ``meta`` table."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def clear(self) -> None:
        """Delete every entity, queued change, sync record and setting, in one transaction.

        The file keeps its identity (``database_uid``) and schema; id sequences restart at 1,
        as in a new file. Other processes serving this file see an empty registry at once.
        """
        with self.db.write() as conn:
            for table in ("executions", "artifacts", "contexts", "outbox", "sync_links",
                          "sync_conflicts", "sync_state", "sync_items"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM meta WHERE key != 'database_uid'")
            conn.execute("DELETE FROM sqlite_sequence")

    # -- internals ----------------------------------------------------------------------------

    def insert_row(self, conn: sqlite3.Connection, spec: EntitySpec, values: dict[str, Any], *,
                   version_id: str | int | None = None, record: bool = True,
                   origin: str = "local", uid: str | None = None) -> int:
        """Insert validated ``values`` inside the caller's ``db.write()`` transaction.

        For writers that need several entities in one transaction (bundles, pull). Artifacts
        go under ``version_id``; ``record`` queues the create in the outbox; ``origin`` is
        "remote" for pulled rows. Returns the new row id.
        """
        parent = 0
        if spec.table == "artifacts":
            if version_id is not None:
                parent = self._require_parent(conn, "contexts", ModelVersion.kind, version_id,
                                              "model version")
        elif spec.parent_field is not None:
            parent_value = values.get(spec.parent_field)
            if parent_value is None:
                raise InvalidInputError(f"{spec.cls.__name__}.{spec.parent_field}", "is required")
            parent_table, parent_kind, label = _PARENTS[spec.kind]
            parent = self._require_parent(conn, parent_table, parent_kind, parent_value, label)
        return int(self._insert(conn, spec, values, parent=parent, record=record, origin=origin,
                                uid=uid)["id"])

    def _insert(self, conn: sqlite3.Connection, spec: EntitySpec, values: dict[str, Any], *,
                parent: int, record: bool = True, origin: str = "local",
                uid: str | None = None) -> dict[str, Any]:
        """Insert under an already checked ``parent`` row id; the stored row as a dict."""
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
        now = self.clock()
        uid = uid or _new_uid()
        row.update(create_time=now, update_time=now, uid=uid, origin=origin)
        row[spec.parent_column] = parent
        try:
            cursor = conn.execute(
                f"INSERT INTO {spec.table} ({', '.join(row)}) VALUES "
                f"({', '.join('?' * len(row))})", list(row.values()))
        except sqlite3.IntegrityError as exc:
            raise self._duplicate(spec, values, exc, parent=parent) from exc
        row["id"] = int(cursor.lastrowid or 0)
        if record:
            created = [f for f in ("name", "description", "external_id", "custom_properties",
                                   spec.state_field, *spec.columns, *spec.attr_fields)
                       if f and values.get(f) not in (None, {}, [])]
            self._record(conn, spec, uid, row["id"], "create", created)
        return row

    def write_row(self, conn: sqlite3.Connection, spec: EntitySpec, current: sqlite3.Row,
                  values: dict[str, Any]) -> builtins.list[str]:
        """Write validated ``values`` onto the ``current`` row inside the caller's transaction.

        Immutable columns keep their stored values; only changed columns are written and
        only then is ``update_time`` bumped. Returns the changed domain field names (empty
        for a no-op). Queues nothing: callers decide whether the change enters the outbox.
        """
        return self._write(conn, spec, current, values)[0]

    def _write(self, conn: sqlite3.Connection, spec: EntitySpec, current: sqlite3.Row,
               values: dict[str, Any]) -> tuple[builtins.list[str], dict[str, Any]]:
        """``write_row``, also returning the row as stored afterwards."""
        values["name"] = current["name"]
        new = row_values(spec, values)
        new.pop("kind")
        new.pop("name")
        row = dict(current)
        changed = [col for col, value in new.items() if current[col] != value]
        if not changed:
            return [], row
        now = max(self.clock(), current["update_time"])
        sets = ", ".join(f"{col} = ?" for col in changed)
        conn.execute(f"UPDATE {spec.table} SET {sets}, update_time = ? WHERE id = ?",
                     [new[col] for col in changed] + [now, current["id"]])
        row.update(new)
        row["update_time"] = now
        return self._changed_fields(spec, current, new, changed), row

    def _require_parent(self, conn: sqlite3.Connection, table: str, kind: str,
                        parent_id: str | int, label: str) -> int:
        row_id = self._row_id(parent_id)
        row = None if row_id is None else conn.execute(
            f"SELECT kind FROM {table} WHERE id = ?", (row_id,)).fetchone()
        if row is None or row[0] != kind:
            raise NotFoundError(f"no {label} found for id {parent_id}", entity=label,
                                key=str(parent_id))
        assert row_id is not None
        return row_id

    def _record(self, conn: sqlite3.Connection, spec: EntitySpec, uid: str, row_id: int,
                op: str, changed: Iterable[str]) -> None:
        conn.execute(
            "INSERT INTO outbox (entity_table, entity_kind, entity_uid, entity_id, op, fields,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (spec.table, spec.kind, uid, row_id, op, compact_json(sorted(set(changed))),
             self.clock()),
        )

    @staticmethod
    def _changed_fields(spec: EntitySpec, current: sqlite3.Row, new: dict[str, Any],
                        changed: builtins.list[str]) -> builtins.list[str]:
        """Translate changed columns into domain field names."""
        out: builtins.list[str] = []
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

    def _duplicate(self, spec: EntitySpec, values: dict[str, Any], exc: sqlite3.IntegrityError,
                   *, parent: int = 0) -> StoreError:
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

    def _subtree(self, conn: sqlite3.Connection, table: str, row_id: int
                 ) -> builtins.list[tuple[str, str]]:
        """(table, uid) of an entity and everything below it."""
        row = conn.execute(f"SELECT uid, kind FROM {table} WHERE id = ?", (row_id,)).fetchone()
        out = [(table, str(row["uid"]))]
        if table == "contexts":
            if row["kind"] == RegisteredModel.kind:
                for child in conn.execute(
                        "SELECT id FROM contexts WHERE kind = ? AND parent_id = ?",
                                          (ModelVersion.kind, row_id)).fetchall():
                    out.extend(self._subtree(conn, "contexts", child[0]))
            elif row["kind"] == ModelVersion.kind:
                for child in conn.execute("SELECT uid FROM artifacts WHERE version_id = ?",
                                          (row_id,)).fetchall():
                    out.append(("artifacts", str(child["uid"])))
        return out

    @staticmethod
    def _is_synced(conn: sqlite3.Connection, table: str, uid: str) -> bool:
        origin = conn.execute(f"SELECT origin FROM {table} WHERE uid = ?", (uid,)).fetchone()
        if origin is not None and origin[0] != "local":
            return True
        has_links = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_links'").fetchone()
        if not has_links:
            return False
        return conn.execute("SELECT 1 FROM sync_links WHERE entity_uid = ? LIMIT 1",
                            (uid,)).fetchone() is not None

    @staticmethod
    def _row_id(entity_id: str | int) -> int | None:
        try:
            return int(check_id("id", entity_id))
        except InvalidInputError:
            return None

    @staticmethod
    def _table(cls: type[BaseResource]) -> str:
        if cls is Artifact or issubclass(cls, Artifact):
            return "artifacts"
        return spec_for(cls).table

    @staticmethod
    def _kinds(cls: type[BaseResource]) -> set[str]:
        if cls is Artifact:
            return {spec.kind for spec in SPECS.values() if spec.table == "artifacts"}
        return {spec_for(cls).kind}

    def _kind_clause(self, cls: type[BaseResource], kinds: Sequence[str] | None = None
                     ) -> tuple[builtins.list[str], builtins.list[Any]]:
        wanted = sorted(set(kinds) if kinds else self._kinds(cls))
        marks = ", ".join("?" for _ in wanted)
        return [f"kind IN ({marks})"], list(wanted)

    def _parent_column(self, cls: type[BaseResource]) -> str:
        return "version_id" if self._table(cls) == "artifacts" else "parent_id"


_PARENTS: dict[str, tuple[str, str, str]] = {
    ModelVersion.kind: ("contexts", RegisteredModel.kind, "registered model"),
    "inference-service": ("contexts", "serving-environment", "serving environment"),
    "serve-model": ("contexts", "inference-service", "inference service"),
}

