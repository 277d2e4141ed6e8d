"""The local registry on SQLite: entities by domain type, in one file.

Every mutation writes its entity rows and its outbox rows in one transaction. The store speaks
domain types only; rows stay inside this module and the modules it is split into:
:mod:`.listing` (pages and page tokens), :mod:`.rows` (row writing shared with registration,
bundles and pulled rows), :mod:`.outbox` (the change queue), :mod:`.sync_rows` (entity rows by
uid for the sync engine).

Deleting asks the caller whether an entity was synced (``delete(..., synced=...)``): links to
remotes live in the sync engine's tables, which the store neither reads nor imports (the import
graph runs one way, from the sync engine down to the store); the facades pass the ledger's
predicate, which runs inside the delete's transaction.
"""

from __future__ import annotations

import builtins
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar, cast

from . import outbox, rows
from ._entities import (
    SPECS,
    SPECS_BY_KIND,
    EntitySpec,
    check_stored_name,
    from_row,
    spec_for,
    validated_values,
)
from .db import Database, Synchronous
from .errors import (
    DeleteNotAllowedError,
    InvalidInputError,
    NotFoundError,
    StoreError,
)
from .listing import OrderBy, Page, SortOrder, page_rows
from .outbox import PendingChange
from .store_register import RegisterRows
from .sync_rows import SyncRows
from .types import (
    Artifact,
    BaseResource,
    ModelVersion,
    RegisteredModel,
)
from .validation import check_lookup_text

__all__ = ["SQLiteStore", "Page", "PendingChange", "OrderBy", "SortOrder", "Synced"]

T = TypeVar("T", bound=BaseResource)
#: Whether an entity (by uid) is linked to a remote, asked inside the delete's transaction.
Synced = Callable[[sqlite3.Connection, str], bool]

_FILTER_ENTITY = {"contexts": None, "artifacts": "artifact", "executions": "serve-model"}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class SQLiteStore(RegisterRows, SyncRows):
    """The registry's entities in one SQLite file (the sync engine's by-uid access: mixin
    :class:`~localhub.sync_rows.SyncRows`).

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

    def list_page(
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
            # the filter grammar (~10 ms) loads with the first filtered listing, not on
            # ``import localhub``
            from .filterquery import compile_filter

            entity = _FILTER_ENTITY[table] or spec_for(cls).kind
            sql, filter_params = compile_filter(filter_query, entity, alias="t")
            clauses.append(f"({sql})")
            params.extend(filter_params)
        with self.db.read() as conn:
            found, next_token = page_rows(conn, table, clauses, params, order_by=order_by,
                                          sort_order=sort_order, page_size=page_size,
                                          page_token=page_token)
        # Each row's kind is one of ``cls``'s kinds (the WHERE clause), so each item is a T.
        items = [cast(T, from_row(SPECS_BY_KIND[row["kind"]], row)) for row in found]
        return Page(items, next_token, page_size or 0)

    def version_artifacts(self, version_id: str | int) -> builtins.list[Artifact]:
        """Every artifact of a model version, oldest first."""
        return self.list_page(Artifact, parent_id=version_id).items

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
            parent = rows.require_parent(conn, "contexts", ModelVersion.kind, version_id,
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
                    raise rows.duplicate(spec, dict(row), exc, parent=parent) from exc
                if record:
                    rows.queue(conn, spec, row["uid"], int(row["id"]), "update",
                               ["version_id"], self.clock())
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
                values = validated_values(spec, rows.overlay(from_row(spec, current), entity))
            try:
                changed, row = rows.write(conn, spec, current, values, self.clock)
            except sqlite3.IntegrityError as exc:
                raise rows.duplicate(spec, values, exc) from exc
            if changed and record:
                rows.queue(conn, spec, current["uid"], row_id, "update", changed, self.clock())
        return cast(T, from_row(spec, row))

    def delete(self, entity: BaseResource, *, synced: Synced | None = None) -> None:
        """Remove a never-synced entity, its children and their queued changes.

        An entity pulled from a remote is synced; ``synced(conn, uid)`` tells whether one of
        local origin was pushed (the facades pass ``localhub.sync.ledger.is_linked``).
        """
        spec = spec_for(entity)
        row_id = self._row_id(entity.id or "")
        with self.db.write() as conn:
            row = None if row_id is None else conn.execute(
                f"SELECT * FROM {spec.table} WHERE id = ?", (row_id,)).fetchone()
            if row is None or row["kind"] != spec.kind:
                raise NotFoundError(f"no {spec.label} found for id {entity.id}",
                                    entity=spec.label, key=str(entity.id))
            assert row_id is not None
            doomed = rows.subtree(conn, spec.table, row_id)
            for table, uid in doomed:
                origin = conn.execute(f"SELECT origin FROM {table} WHERE uid = ?",
                                      (uid,)).fetchone()
                if (origin is not None and origin[0] != "local") or (
                        synced is not None and synced(conn, uid)):
                    raise DeleteNotAllowedError(spec.label, str(row["name"]))
            for table, uid in doomed:
                conn.execute(f"DELETE FROM {table} WHERE uid = ?", (uid,))
                outbox.discard(conn, uid)

    # -- outbox -------------------------------------------------------------------------------

    def pending(self) -> builtins.list[PendingChange]:
        """Every queued change, oldest first, with the names of what it touches."""
        with self.db.read() as conn:
            return outbox.pending(conn)

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
            outbox.clear(conn)
            # Every other table of the schema, the sync engine's included, without naming
            # them here: the store does not know the engine's bookkeeping.
            for (table,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                    "('meta', 'outbox') AND name NOT LIKE 'sqlite_%'").fetchall():
                conn.execute(f'DELETE FROM "{table}"')
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
                parent = rows.require_parent(conn, "contexts", ModelVersion.kind, version_id,
                                              "model version")
        elif spec.parent_field is not None:
            parent_value = values.get(spec.parent_field)
            if parent_value is None:
                raise InvalidInputError(f"{spec.cls.__name__}.{spec.parent_field}", "is required")
            parent_table, parent_kind, label = rows.PARENTS[spec.kind]
            parent = rows.require_parent(conn, parent_table, parent_kind, parent_value, label)
        return int(rows.insert(conn, spec, values, parent=parent, now=self.clock(),
                               record=record, origin=origin, uid=uid)["id"])

    def write_row(self, conn: sqlite3.Connection, spec: EntitySpec, current: sqlite3.Row,
                  values: dict[str, Any]) -> builtins.list[str]:
        """Write validated ``values`` onto the ``current`` row inside the caller's transaction.

        Immutable columns keep their stored values; only changed columns are written and
        only then is ``update_time`` bumped. Returns the changed domain field names (empty
        for a no-op). Queues nothing: callers decide whether the change enters the outbox.
        """
        return rows.write(conn, spec, current, values, self.clock)[0]

    @staticmethod
    def _row_id(entity_id: str | int) -> int | None:
        return rows.row_id(entity_id)

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

