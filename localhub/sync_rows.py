"""Entity rows by uid, for the sync engine: the store's side of push, pull and conflicts.

The engine addresses local entities by their stable uid inside its own transactions; these
methods (mixed into :class:`localhub.store.SQLiteStore`) are the only way it reads or writes
the entity tables. Pulled rows are written without entering the outbox; changes the engine
queues (a conflict resolved "ours", a requeue after a remote reset) go through
:mod:`localhub.outbox`.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from . import rows
from ._entities import SPECS_BY_KIND, from_row, spec_for, validated_values
from .db import Database
from .types import BaseResource, ModelVersion, RegisteredModel

__all__ = ["Local", "SyncRows"]


@dataclass
class Local:
    """A local entity with where it sits."""

    uid: str
    table: str
    row_id: int
    entity: BaseResource
    parent_uid: str | None
    origin: str


class SyncRows:
    """The entity-table reads and writes of the sync engine (a mixin of ``SQLiteStore``)."""

    db: Database
    clock: Callable[[], int]

    def load(self, conn: sqlite3.Connection, table: str, uid: str) -> Local | None:
        """The entity ``uid`` of ``table`` with its parent's uid, or None."""
        row = conn.execute(f"SELECT * FROM {table} WHERE uid = ?", (uid,)).fetchone()
        if row is None:
            return None
        spec = SPECS_BY_KIND[row["kind"]]
        parent_uid = None
        parent = row[spec.parent_column] if spec.parent_field or table == "artifacts" else 0
        if parent:
            prow = conn.execute("SELECT uid FROM contexts WHERE id = ?", (parent,)).fetchone()
            parent_uid = prow[0] if prow else None
        return Local(uid, table, int(row["id"]), from_row(spec, row), parent_uid, row["origin"])

    def write_entity(self, conn: sqlite3.Connection, local: Local, entity: BaseResource) -> None:
        """Write ``entity``'s mutable fields onto the row, without queueing anything."""
        spec = spec_for(entity)
        current = conn.execute(f"SELECT * FROM {spec.table} WHERE id = ?",
                               (local.row_id,)).fetchone()
        rows.write(conn, spec, current, validated_values(spec, entity), self.clock)

    def insert_pulled(self, conn: sqlite3.Connection, entity: BaseResource,
                      parent_row_id: int | None) -> tuple[str, int]:
        """Insert a pulled entity (origin remote, not queued); returns (uid, row id)."""
        spec = spec_for(entity)
        values = validated_values(spec, entity)
        parent = 0
        if isinstance(entity, ModelVersion):
            values["registered_model_id"] = str(parent_row_id)
            parent = rows.require_parent(conn, "contexts", RegisteredModel.kind,
                                         str(parent_row_id), "registered model")
        elif spec.table == "artifacts" and parent_row_id is not None:
            parent = rows.require_parent(conn, "contexts", ModelVersion.kind, parent_row_id,
                                         "model version")
        uid = uuid.uuid4().hex
        row = rows.insert(conn, spec, values, parent=parent, now=self.clock(), record=False,
                          origin="remote", uid=uid)
        return uid, int(row["id"])

    def queue_change(self, conn: sqlite3.Connection, local: Local, op: str,
                     names: list[str]) -> None:
        """Queue ``op`` ("create" or "update") of ``names`` of a local entity."""
        rows.queue(conn, spec_for(local.entity), local.uid, local.row_id, op, names,
                   self.clock())

    def attach_pulled(self, conn: sqlite3.Connection, uid: str, version_uid: str) -> None:
        """Move a local artifact of no version into the version the remote attached it to
        (nothing queued: the change came from the remote)."""
        conn.execute("UPDATE artifacts SET version_id = (SELECT id FROM contexts WHERE uid = ?) "
                     "WHERE uid = ? AND version_id = 0", (version_uid, uid))

    @staticmethod
    def descendant_uids(conn: sqlite3.Connection, uid: str) -> list[tuple[str, str]]:
        """(table, uid) of the versions and artifacts under the model or version ``uid``,
        parents first."""
        versions = [r[0] for r in conn.execute(
            "SELECT v.uid FROM contexts v JOIN contexts m ON m.id = v.parent_id "
            "WHERE m.uid = ? AND v.kind = 'model-version' ORDER BY v.id", (uid,))]
        found = [("contexts", v) for v in versions]
        for parent in [uid, *versions]:
            found += [("artifacts", r[0]) for r in conn.execute(
                "SELECT a.uid FROM artifacts a JOIN contexts v ON v.id = a.version_id "
                "WHERE v.uid = ? ORDER BY a.id", (parent,))]
        return found

    @staticmethod
    def is_floating(conn: sqlite3.Connection, uid: str) -> bool:
        """Whether the artifact ``uid`` belongs to no version."""
        return conn.execute("SELECT 1 FROM artifacts WHERE uid = ? AND version_id = 0",
                            (uid,)).fetchone() is not None

    @staticmethod
    def child_uids(conn: sqlite3.Connection, local: Local) -> list[tuple[str, str]]:
        """(table, uid) of a model's versions or a version's artifacts (else none)."""
        if local.entity.kind == "registered-model":
            return [("contexts", r[0]) for r in conn.execute(
                "SELECT uid FROM contexts WHERE kind = 'model-version' AND parent_id = ? "
                "ORDER BY id", (local.row_id,))]
        if local.entity.kind == "model-version":
            return [("artifacts", r[0]) for r in conn.execute(
                "SELECT uid FROM artifacts WHERE version_id = ? ORDER BY id", (local.row_id,))]
        return []

    @staticmethod
    def model_of_artifact(conn: sqlite3.Connection, uid: str) -> str | None:
        """The name of the registered model the artifact ``uid`` belongs to, or None."""
        row = conn.execute("SELECT m.name FROM artifacts a JOIN contexts v ON v.id = "
                           "a.version_id JOIN contexts m ON m.id = v.parent_id WHERE a.uid = ?",
                           (uid,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def context_row_id(conn: sqlite3.Connection, uid: str) -> int | None:
        """The row id of the model, version or serving entity ``uid``, or None."""
        row = conn.execute("SELECT id FROM contexts WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else int(row[0])

    @staticmethod
    def natural_key_uid(conn: sqlite3.Connection, table: str, kind: str, parent: int,
                        name: str | None) -> str | None:
        """The uid of the local entity of ``kind`` named ``name`` under ``parent``, or None."""
        parent_col = "version_id" if table == "artifacts" else "parent_id"
        row = conn.execute(
            f"SELECT uid FROM {table} WHERE kind = ? AND {parent_col} = ? AND name = ?",
            (kind, parent, name)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def uid_and_origin(conn: sqlite3.Connection, entity: BaseResource) -> tuple[str, str] | None:
        """(uid, origin) of a stored entity, or None when it is not stored."""
        row = conn.execute(f"SELECT uid, origin FROM {spec_for(entity).table} WHERE id = ?",
                           (int(entity.id or 0),)).fetchone()
        return None if row is None else (str(row["uid"]), str(row["origin"]))

    @staticmethod
    def syncable_uids(conn: sqlite3.Connection) -> list[tuple[str, str]]:
        """(table, uid) of every model, version and artifact in a version, parents first."""
        found = [("contexts", r[0]) for r in conn.execute(
            "SELECT uid FROM contexts WHERE kind = 'registered-model' ORDER BY id")]
        found += [("contexts", r[0]) for r in conn.execute(
            "SELECT uid FROM contexts WHERE kind = 'model-version' ORDER BY id")]
        found += [("artifacts", r[0]) for r in conn.execute(
            "SELECT uid FROM artifacts WHERE version_id IS NOT NULL AND version_id != 0 "
            "ORDER BY id")]
        return found

    @staticmethod
    def label_rows(conn: sqlite3.Connection, table: str, uid: str) -> sqlite3.Row | None:
        """Names that label the entity ``uid``: for a context ``name``, ``kind``, ``parent``;
        for an artifact ``name``, ``version``, ``model``."""
        if table == "contexts":
            row: sqlite3.Row | None = conn.execute(
                "SELECT c.name, c.kind, p.name AS parent FROM contexts c LEFT JOIN contexts p "
                "ON p.id = c.parent_id WHERE c.uid = ?", (uid,)).fetchone()
            return row
        row = conn.execute("SELECT a.name, v.name AS version, m.name AS model FROM artifacts a "
                           "LEFT JOIN contexts v ON v.id = a.version_id LEFT JOIN contexts m ON "
                           "m.id = v.parent_id WHERE a.uid = ?", (uid,)).fetchone()
        return row

    @staticmethod
    def delete_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        """Delete the ``meta`` entry ``key`` when it holds ``value``."""
        conn.execute("DELETE FROM meta WHERE key = ? AND value = ?", (key, value))
