"""The engine's bookkeeping in the local database: links, conflicts, items, watermarks, and
local reads/writes of entities by uid inside the engine's own transactions."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from localhub._entities import (
    SPECS_BY_KIND,
    from_row,
    spec_for,
    validated_values,
)
from localhub.store import SQLiteStore
from localhub.types import BaseResource, ModelVersion, RegisteredModel

from .snapshot import content_hash, snapshot

__all__ = ["Ledger", "Link", "Local", "dumps"]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=repr)


@dataclass
class Link:
    """A local entity's counterpart on the remote."""

    uid: str
    table: str
    remote_id: str
    base: dict[str, Any]
    base_update_time: int
    base_hash: str
    etag: str | None


@dataclass
class Local:
    """A local entity with where it sits."""

    uid: str
    table: str
    row_id: int
    entity: BaseResource
    parent_uid: str | None
    origin: str


class Ledger:
    """Sync tables of one store for one remote."""

    def __init__(self, store: SQLiteStore, remote: str) -> None:
        self.store = store
        self.remote = remote

    # -- entities -----------------------------------------------------------------------------

    def load(self, conn: sqlite3.Connection, table: str, uid: str) -> Local | None:
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
        self.store.write_row(conn, spec, current, validated_values(spec, entity))

    def insert_pulled(self, conn: sqlite3.Connection, entity: BaseResource,
                      parent_row_id: int | None) -> tuple[str, int]:
        """Insert a pulled entity (origin remote, no outbox); returns (uid, row id)."""
        spec = spec_for(entity)
        values = validated_values(spec, entity)
        version_id = None
        if isinstance(entity, ModelVersion):
            values["registered_model_id"] = str(parent_row_id)
        elif spec.table == "artifacts":
            version_id = parent_row_id
        uid = uuid.uuid4().hex
        row_id = self.store.insert_row(conn, spec, values, version_id=version_id, record=False,
                                       origin="remote", uid=uid)
        return uid, row_id

    def record_update(self, conn: sqlite3.Connection, local: Local, names: list[str]) -> None:
        """Queue an update of ``names`` (used by conflict resolution 'ours' and 'value')."""
        spec = spec_for(local.entity)
        self.store._record(conn, spec, local.uid, local.row_id, "update", names)

    # -- links --------------------------------------------------------------------------------

    def link(self, conn: sqlite3.Connection, uid: str) -> Link | None:
        row = conn.execute("SELECT * FROM sync_links WHERE remote = ? AND entity_uid = ?",
                           (self.remote, uid)).fetchone()
        return None if row is None else self._link(row)

    def link_by_remote_id(self, conn: sqlite3.Connection, table: str, remote_id: str
                          ) -> Link | None:
        row = conn.execute("SELECT * FROM sync_links WHERE remote = ? AND entity_table = ? "
                           "AND remote_id = ?", (self.remote, table, remote_id)).fetchone()
        return None if row is None else self._link(row)

    @staticmethod
    def _link(row: sqlite3.Row) -> Link:
        return Link(row["entity_uid"], row["entity_table"], row["remote_id"],
                    json.loads(row["base"]), int(row["base_update_time"]), row["base_hash"],
                    row["etag"])

    def set_link(self, conn: sqlite3.Connection, uid: str, table: str, remote: BaseResource,
                 etag: str | None, *, pin: bool = True) -> Link:
        """Link ``uid`` to the remote entity, its content as the new base.

        The first registered model linked (read from the remote: ``pin``) becomes the remote's
        identity anchor (see :mod:`localhub.sync.remotes`)."""
        base = snapshot(remote)
        if pin and isinstance(remote, RegisteredModel) and remote.id \
                and remote.create_time_since_epoch:
            conn.execute("INSERT INTO sync_state (remote, key, value) VALUES (?, 'identity', ?) "
                         "ON CONFLICT (remote, key) DO NOTHING",
                         (self.remote, dumps({"model_id": str(remote.id),
                                              "create_time": str(remote.create_time_since_epoch),
                                              "name": getattr(remote, "name", None)})))
        link = Link(uid, table, str(remote.id), base,
                    int(remote.last_update_time_since_epoch or 0), content_hash(base), etag)
        conn.execute(
            "INSERT INTO sync_links (remote, entity_uid, entity_table, remote_id, base, "
            "base_update_time, base_hash, etag) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (remote, entity_uid) DO UPDATE SET remote_id = excluded.remote_id, "
            "base = excluded.base, base_update_time = excluded.base_update_time, "
            "base_hash = excluded.base_hash, etag = excluded.etag",
            (self.remote, uid, table, link.remote_id, dumps(base), link.base_update_time,
             link.base_hash, etag))
        return link

    # -- outbox and items ---------------------------------------------------------------------

    def ack(self, conn: sqlite3.Connection, uid: str, max_seq: int) -> None:
        """The remote acknowledged every change of ``uid`` up to ``max_seq``."""
        conn.execute("DELETE FROM outbox WHERE entity_uid = ? AND seq <= ?", (uid, max_seq))
        conn.execute("DELETE FROM sync_items WHERE remote = ? AND entity_uid = ?",
                     (self.remote, uid))

    def newer_fields(self, conn: sqlite3.Connection, uid: str, max_seq: int) -> set[str]:
        """Fields changed locally after ``max_seq`` (queued while a push was in flight)."""
        out: set[str] = set()
        for (text,) in conn.execute("SELECT fields FROM outbox WHERE entity_uid = ? AND seq > ?",
                                    (uid, max_seq)):
            out.update(json.loads(text))
        return out

    def item(self, conn: sqlite3.Connection, uid: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM sync_items WHERE remote = ? AND entity_uid = ?",
            (self.remote, uid)).fetchone()
        return row

    def mark_attempted(self, uid: str, sent: dict[str, Any] | None = None) -> None:
        """Before a create is sent: a retry looks it up first. ``sent``: its content."""
        self.mark_sending([(uid, True, sent)])

    def mark_attempted_many(self, uids: list[str]) -> None:
        """:meth:`mark_attempted` for several creates, in one commit."""
        self.mark_sending([(uid, True, None) for uid in uids])

    def mark_sending(self, items: list[tuple[str, bool, dict[str, Any] | None]]) -> None:
        """In one commit, before the requests: for each ``(uid, create, sent)``, a create
        marker (when ``create``) and the content the request will give the remote (``sent``),
        by which a later run recognises its own write if the reply is lost. Contents of
        earlier unacknowledged requests are kept: any of them may have landed."""
        now = self.store.clock()
        with self.store.db.write() as conn:
            for uid, create, sent in items:
                item = self.item(conn, uid)
                sends = self.sent(item)
                if sent is not None:
                    sends.append(sent)
                conn.execute(
                    "INSERT INTO sync_items (remote, entity_uid, create_attempted_at, sent) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (remote, entity_uid) DO UPDATE SET "
                    "create_attempted_at = coalesce(excluded.create_attempted_at, "
                    "create_attempted_at), sent = excluded.sent",
                    (self.remote, uid, now if create else None,
                     dumps(sends) if sends else None))

    @staticmethod
    def sent(item: sqlite3.Row | None) -> list[dict[str, Any]]:
        """The contents recorded by :meth:`mark_sending` and not acknowledged, oldest first."""
        if item is None or item["sent"] is None:
            return []
        value: list[dict[str, Any]] = json.loads(item["sent"])
        return value

    def unmark_attempted(self, conn: sqlite3.Connection, uids: list[str],
                         unsent_updates: Sequence[str] = ()) -> None:
        """Forget what this run marked for requests it never sent: the create markers of
        ``uids`` (with their content) and the last recorded content of ``unsent_updates``."""
        conn.executemany("UPDATE sync_items SET create_attempted_at = NULL, sent = NULL "
                         "WHERE remote = ? AND entity_uid = ?",
                         [(self.remote, uid) for uid in uids])
        for uid in unsent_updates:
            sends = self.sent(self.item(conn, uid))[:-1]
            conn.execute("UPDATE sync_items SET sent = ? WHERE remote = ? AND entity_uid = ?",
                         (dumps(sends) if sends else None, self.remote, uid))
        conn.executemany("DELETE FROM sync_items WHERE remote = ? AND entity_uid = ? AND "
                         "create_attempted_at IS NULL AND set_aside_at IS NULL AND sent IS NULL",
                         [(self.remote, uid) for uid in [*uids, *unsent_updates]])

    def set_aside(self, uid: str, message: str) -> None:
        with self.store.db.write() as conn:
            conn.execute(
                "INSERT INTO sync_items (remote, entity_uid, set_aside_at, message) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (remote, entity_uid) DO UPDATE SET "
                "set_aside_at = excluded.set_aside_at, message = excluded.message",
                (self.remote, uid, self.store.clock(), message))

    def clear_set_aside(self) -> None:
        """Give set-aside items another chance (a new run, e.g. after the user fixed them)."""
        with self.store.db.write() as conn:
            conn.execute("UPDATE sync_items SET set_aside_at = NULL, message = NULL "
                         "WHERE remote = ?", (self.remote,))

    # -- conflicts ----------------------------------------------------------------------------

    def open_conflicts(self, conn: sqlite3.Connection, uid: str) -> list[sqlite3.Row]:
        return conn.execute("SELECT * FROM sync_conflicts WHERE remote = ? AND entity_uid = ? "
                            "AND resolved_at IS NULL ORDER BY id", (self.remote, uid)).fetchall()

    def frozen_fields(self, conn: sqlite3.Connection, uid: str) -> set[str]:
        """Fields of open update conflicts: never written by a push until resolved."""
        out: set[str] = set()
        for row in self.open_conflicts(conn, uid):
            out.update(json.loads(row["fields"]))
        return out

    def add_conflict(self, conn: sqlite3.Connection, *, local: Local, kind: str,
                     fields_: list[str], base: dict[str, Any], mine: dict[str, Any],
                     theirs: dict[str, Any], remote_id: str | None, message: str | None = None,
                     resolution: str | None = None) -> int:
        """Record a conflict (resolved at once when ``resolution`` is given by a policy)."""
        now = self.store.clock()
        cur = conn.execute(
            "INSERT INTO sync_conflicts (remote, entity_uid, entity_table, entity_kind, kind, "
            "fields, base, local, remote_values, remote_id, message, created_at, resolved_at, "
            "resolution) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.remote, local.uid, local.table, local.entity.kind, kind, dumps(fields_),
             dumps(base), dumps(mine), dumps(theirs), remote_id, message, now,
             now if resolution else None, resolution))
        return int(cur.lastrowid or 0)

    # -- key/value state ----------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        with self.store.db.read() as conn:
            row = conn.execute("SELECT value FROM sync_state WHERE remote = ? AND key = ?",
                               (self.remote, key)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute("INSERT INTO sync_state (remote, key, value) VALUES (?, ?, ?) "
                     "ON CONFLICT (remote, key) DO UPDATE SET value = excluded.value",
                     (self.remote, key, value))

