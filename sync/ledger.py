"""The ledger: the only reader and writer of the sync tables (``sync_links``, ``sync_items``,
``sync_conflicts``, ``sync_state``), for one store and one remote.

Links (a local entity's remote counterpart and the base of the next merge), items (create
markers, contents sent and not acknowledged, set-aside entities), conflicts and key/value state
(watermarks, the pinned identity). Entity rows are the store's (``localhub.sync_rows``), queued
changes the outbox's (``localhub.outbox``); a few reads here join the entity tables to name or
order what the sync tables hold, and never write them.

Size: over 450 lines because it is the one owner of four tables; a split would give the sync
tables two owners.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from localhub import outbox
from localhub.credentials import redact_url
from localhub.errors import DeleteInFlightError
from localhub.sync_rows import Local
from localhub.types import BaseResource, ModelVersion, RegisteredModel

from .contract import LocalStore
from .snapshot import content_hash, snapshot

#: sync_state key prefix of a pulled entity held because the store refused it.
HELD = "held-pull:"

__all__ = ["Ledger", "Link", "Local", "canonical_json", "delete_blocked", "is_linked"]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text (stored, compared)."""
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


class Ledger:
    """Sync tables of one store for one remote."""

    def __init__(self, store: LocalStore, remote: str) -> None:
        self.store = store
        self.remote = remote

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
                         (self.remote, canonical_json({"model_id": str(remote.id),
                                              "create_time": str(remote.create_time_since_epoch),
                                              "name": getattr(remote, "name", None)})))
        if pin and isinstance(remote, RegisteredModel) and str(remote.id or "").isdigit() \
                and remote.create_time_since_epoch:
            self._note_newest(conn, remote)
        link = Link(uid, table, str(remote.id), base,
                    int(remote.last_update_time_since_epoch or 0), content_hash(base), etag)
        conn.execute(
            "INSERT INTO sync_links (remote, entity_uid, entity_table, remote_id, base, "
            "base_update_time, base_hash, etag) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (remote, entity_uid) DO UPDATE SET remote_id = excluded.remote_id, "
            "base = excluded.base, base_update_time = excluded.base_update_time, "
            "base_hash = excluded.base_hash, etag = excluded.etag",
            (self.remote, uid, table, link.remote_id, canonical_json(base), link.base_update_time,
             link.base_hash, etag))
        return link

    def _note_newest(self, conn: sqlite3.Connection, remote: BaseResource) -> None:
        """Keep the linked registered model of the highest id (``sync_state`` ``newest``):
        the identity probe reads it, so a server restored to before its creation is seen."""
        row = conn.execute("SELECT value FROM sync_state WHERE remote = ? AND key = 'newest'",
                           (self.remote,)).fetchone()
        if row is not None and int(json.loads(row[0])["model_id"]) >= int(str(remote.id)):
            return
        self.set_state(conn, "newest", canonical_json({
            "model_id": str(remote.id), "create_time": str(remote.create_time_since_epoch),
            "name": getattr(remote, "name", None)}))

    # -- outbox and items ---------------------------------------------------------------------

    def ack(self, conn: sqlite3.Connection, uid: str, max_seq: int) -> None:
        """The remote acknowledged every change of ``uid`` up to ``max_seq``."""
        outbox.ack(conn, uid, max_seq)
        conn.execute("DELETE FROM sync_items WHERE remote = ? AND entity_uid = ?",
                     (self.remote, uid))

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
                     canonical_json(sends) if sends else None))

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
                         (canonical_json(sends) if sends else None, self.remote, uid))
        conn.executemany("DELETE FROM sync_items WHERE remote = ? AND entity_uid = ? AND "
                         "create_attempted_at IS NULL AND set_aside_at IS NULL AND sent IS NULL",
                         [(self.remote, uid) for uid in [*uids, *unsent_updates]])

    def set_aside(self, uid: str, message: str, *, refused: bool = False) -> None:
        """Set ``uid`` aside until the next run. ``refused``: the remote refused the request
        (400/409/422), so a create of an entity not linked yet did not land: its create
        marker goes (a retry POSTs without a lookup, and a local delete is allowed)."""
        with self.store.db.write() as conn:
            conn.execute(
                "INSERT INTO sync_items (remote, entity_uid, set_aside_at, message) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (remote, entity_uid) DO UPDATE SET "
                "set_aside_at = excluded.set_aside_at, message = excluded.message",
                (self.remote, uid, self.store.clock(), message))
            if refused and self.link(conn, uid) is None:
                conn.execute("UPDATE sync_items SET create_attempted_at = NULL, sent = NULL "
                             "WHERE remote = ? AND entity_uid = ?", (self.remote, uid))

    def clear_set_aside(self) -> None:
        """Give set-aside items another chance (a new run, e.g. after the user fixed them)."""
        with self.store.db.write() as conn:
            conn.execute("UPDATE sync_items SET set_aside_at = NULL, message = NULL "
                         "WHERE remote = ?", (self.remote,))

    # -- pulled entities that could not be applied --------------------------------------------

    def hold_pulled(self, conn: sqlite3.Connection, table: str, remote_id: str,
                    kind: str, parent_uid: str | None, message: str) -> None:
        """Record a pulled entity the store refused (retried by the next pull)."""
        self.set_state(conn, f"{HELD}{table}:{remote_id}", canonical_json(
            {"table": table, "remote_id": remote_id, "kind": kind, "parent": parent_uid,
             "message": message, "since": self.store.clock()}))

    def release_pulled(self, conn: sqlite3.Connection, table: str, remote_id: str) -> None:
        conn.execute("DELETE FROM sync_state WHERE remote = ? AND key = ?",
                     (self.remote, f"{HELD}{table}:{remote_id}"))

    def held_pulled(self) -> list[dict[str, Any]]:
        """The pulled entities held by :meth:`hold_pulled`, oldest first."""
        with self.store.db.read() as conn:
            return held_rows(conn, self.remote)

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
            (self.remote, local.uid, local.table, local.entity.kind, kind,
             canonical_json(fields_), canonical_json(base), canonical_json(mine),
             canonical_json(theirs), remote_id, message, now,
             now if resolution else None, resolution))
        return int(cur.lastrowid or 0)

    def has_open_conflict(self, conn: sqlite3.Connection, uid: str) -> bool:
        return conn.execute("SELECT 1 FROM sync_conflicts WHERE remote = ? AND entity_uid = ? "
                            "AND resolved_at IS NULL", (self.remote, uid)).fetchone() is not None

    def has_open_conflict_of(self, conn: sqlite3.Connection, uid: str, kind: str) -> bool:
        """Whether ``uid`` has an open conflict of ``kind``."""
        return conn.execute("SELECT 1 FROM sync_conflicts WHERE remote = ? AND entity_uid = ? "
                            "AND kind = ? AND resolved_at IS NULL",
                            (self.remote, uid, kind)).fetchone() is not None

    def open_conflict_ids(self) -> list[int]:
        """Ids of the open conflicts with this remote, oldest first."""
        with self.store.db.read() as conn:
            return [int(r[0]) for r in conn.execute(
                "SELECT id FROM sync_conflicts WHERE remote = ? AND resolved_at IS NULL "
                "ORDER BY id", (self.remote,))]

    # -- links joined with entities (reads) ---------------------------------------------------

    def linked_model_ids(self, conn: sqlite3.Connection, names: frozenset[str]) -> set[str]:
        """Remote ids of the linked registered models named in ``names``."""
        return {r[0] for r in conn.execute(
            "SELECT l.remote_id, c.name FROM sync_links l JOIN contexts c ON c.uid = "
            "l.entity_uid WHERE l.remote = ? AND c.kind = ?",
            (self.remote, RegisteredModel.kind)) if r[1] in names}

    def linked_versions(self, conn: sqlite3.Connection, models: frozenset[str] | None
                        ) -> list[tuple[str, str]]:
        """(remote id, uid) of the linked versions (of ``models``): versions without a linked
        artifact first, then the most recently changed (ties by local id)."""
        # The versions holding a linked artifact: one uncorrelated IN list, built once. A
        # correlated EXISTS lets SQLite walk every link of the remote per version (quadratic:
        # minutes at 10,000 versions).
        return [(row["remote_id"], row["entity_uid"]) for row in conn.execute(
            "SELECT l.remote_id, l.entity_uid, m.name AS model FROM sync_links l JOIN "
            "contexts c ON c.uid = l.entity_uid JOIN contexts m ON m.id = c.parent_id "
            "WHERE l.remote = ? AND c.kind = ? ORDER BY c.id IN (SELECT a.version_id FROM "
            "sync_links al JOIN artifacts a ON a.uid = al.entity_uid WHERE al.remote = ?), "
            "l.base_update_time DESC, c.id",
            (self.remote, ModelVersion.kind, self.remote))
            if models is None or row["model"] in models]

    def unlink(self, conn: sqlite3.Connection, uid: str) -> None:
        """Forget ``uid``'s link and item (its remote counterpart is gone)."""
        conn.execute("DELETE FROM sync_links WHERE remote = ? AND entity_uid = ?",
                     (self.remote, uid))
        conn.execute("DELETE FROM sync_items WHERE remote = ? AND entity_uid = ?",
                     (self.remote, uid))

    def forget(self, conn: sqlite3.Connection, now: int) -> dict[str, int]:
        """Forget this remote: links, state and items deleted, open conflicts closed
        (resolution ``reset``); counts of each."""
        out: dict[str, int] = {}
        for table in ("sync_links", "sync_state", "sync_items"):
            out[table] = conn.execute(f"DELETE FROM {table} WHERE remote = ?",
                                      (self.remote,)).rowcount
        out["conflicts_closed"] = conn.execute(
            "UPDATE sync_conflicts SET resolved_at = ?, resolution = 'reset' WHERE remote = ? "
            "AND resolved_at IS NULL", (now, self.remote)).rowcount
        return out

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



# -- every remote (reads for status pages, completion, conflicts) ------------------------------

def is_linked(conn: sqlite3.Connection, uid: str) -> bool:
    """Whether ``uid`` is linked to any remote (the store's delete guard)."""
    return conn.execute("SELECT 1 FROM sync_links WHERE entity_uid = ? LIMIT 1",
                        (uid,)).fetchone() is not None


def delete_blocked(conn: sqlite3.Connection, uid: str) -> bool:
    """The store's delete guard: True when ``uid`` is linked to a remote; raises
    DeleteInFlightError when a sync sent (or is sending) its create and no remote confirmed
    or refused it yet, so that a delete never leaves an entity on a remote only."""
    if is_linked(conn, uid):
        return True
    row = conn.execute("SELECT remote FROM sync_items WHERE entity_uid = ? AND "
                       "create_attempted_at IS NOT NULL ORDER BY remote LIMIT 1",
                       (uid,)).fetchone()
    if row is None:
        return False
    named = conn.execute("SELECT kind, name FROM contexts WHERE uid = ? UNION ALL "
                         "SELECT 'artifact', name FROM artifacts WHERE uid = ?",
                         (uid, uid)).fetchone()
    kind, name = ("entity", uid) if named is None else (str(named[0]), str(named[1]))
    raise DeleteInFlightError(kind.replace("registered-", "").replace("-", " "), name,
                              redact_url(str(row[0])))


def conflict_rows(conn: sqlite3.Connection, *, remote: str | None = None,
                  include_resolved: bool = False, conflict_id: int | None = None
                  ) -> list[sqlite3.Row]:
    """Conflict rows, oldest first (open ones unless ``include_resolved``; one by id)."""
    sql = "SELECT * FROM sync_conflicts WHERE 1"
    params: list[Any] = []
    if conflict_id is not None:
        sql += " AND id = ?"
        params.append(conflict_id)
    if remote is not None:
        sql += " AND remote = ?"
        params.append(remote)
    if not include_resolved:
        sql += " AND resolved_at IS NULL"
    return list(conn.execute(sql + " ORDER BY id", params).fetchall())


def close_conflict(conn: sqlite3.Connection, conflict_id: int, resolution: str, now: int
                   ) -> None:
    """Mark a conflict resolved."""
    conn.execute("UPDATE sync_conflicts SET resolved_at = ?, resolution = ? WHERE id = ?",
                 (now, resolution, conflict_id))


def count_open_conflicts(conn: sqlite3.Connection, *, remote: str | None = None,
                         uid: str | None = None) -> int:
    """Open conflicts (with ``remote``; of ``uid``)."""
    sql = "SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL"
    params: list[Any] = []
    for column, value in (("remote", remote), ("entity_uid", uid)):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    return int(conn.execute(sql, params).fetchone()[0])


def set_aside_rows(conn: sqlite3.Connection, remote: str | None = None) -> list[sqlite3.Row]:
    """Set-aside items (``remote``, ``entity_uid``, ``message``, ``set_aside_at``, the entity's
    ``c_kind`` or ``a_kind``), oldest first."""
    where, params = ("", ()) if remote is None else (" AND i.remote = ?", (remote,))
    return list(conn.execute(
        "SELECT i.*, c.kind AS c_kind, a.kind AS a_kind FROM sync_items i LEFT JOIN contexts c "
        "ON c.uid = i.entity_uid LEFT JOIN artifacts a ON a.uid = i.entity_uid WHERE "
        "i.set_aside_at IS NOT NULL" + where + " ORDER BY i.set_aside_at", params).fetchall())


def held_rows(conn: sqlite3.Connection, remote: str | None = None) -> list[dict[str, Any]]:
    """Pulled entities the store refused (``remote``, ``table``, ``remote_id``, ``kind``,
    ``parent``, ``message``, ``since``), oldest first."""
    where, params = ("", ()) if remote is None else (" AND remote = ?", (remote,))
    out = []
    for row in conn.execute("SELECT remote, value FROM sync_state WHERE key LIKE ? ESCAPE '!'"
                            + where, (HELD.replace("_", "!_") + "%", *params)):
        out.append({"remote": row[0], **json.loads(row[1])})
    return sorted(out, key=lambda h: (h["since"], h["remote_id"]))


def known_remotes(conn: sqlite3.Connection) -> set[str]:
    """Every remote the sync tables mention."""
    urls: set[str] = set()
    for table in ("sync_state", "sync_links", "sync_conflicts"):
        urls.update(r[0] for r in conn.execute(f"SELECT DISTINCT remote FROM {table}"))
    return urls


def remote_summary(conn: sqlite3.Connection, url: str) -> tuple[dict[str, str], int]:
    """(the key/value state of ``url``, how many links it has)."""
    state = {str(k): str(v) for k, v in conn.execute(
        "SELECT key, value FROM sync_state WHERE remote = ?", (url,)).fetchall()}
    links = int(conn.execute("SELECT count(*) FROM sync_links WHERE remote = ?",
                             (url,)).fetchone()[0])
    return state, links


def remote_ids(conn: sqlite3.Connection, uid: str) -> dict[str, str]:
    """Remote URL -> the id of ``uid`` there."""
    return {row["remote"]: row["remote_id"] for row in conn.execute(
        "SELECT remote, remote_id FROM sync_links WHERE entity_uid = ? ORDER BY remote", (uid,))}


def set_aside_message(conn: sqlite3.Connection, uid: str) -> str | None:
    """Why ``uid`` is set aside (for any remote), or None."""
    row = conn.execute("SELECT message FROM sync_items WHERE entity_uid = ? AND set_aside_at IS "
                       "NOT NULL", (uid,)).fetchone()
    return None if row is None else row["message"]


def counts_by_uid(conn: sqlite3.Connection, uids: list[str]) -> dict[str, tuple[int, int]]:
    """uid -> (open conflicts, set-aside items) for those of ``uids`` that have any."""
    ids = json.dumps(sorted(uids))
    out: dict[str, tuple[int, int]] = {}
    for uid, n in conn.execute("SELECT entity_uid, count(*) FROM sync_conflicts WHERE "
                               "resolved_at IS NULL AND entity_uid IN (SELECT value FROM "
                               "json_each(?)) GROUP BY entity_uid", (ids,)):
        out[uid] = (int(n), 0)
    for uid, n in conn.execute("SELECT entity_uid, count(*) FROM sync_items WHERE set_aside_at "
                               "IS NOT NULL AND entity_uid IN (SELECT value FROM json_each(?)) "
                               "GROUP BY entity_uid", (ids,)):
        out[uid] = (out.get(uid, (0, 0))[0], int(n))
    return out
