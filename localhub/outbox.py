"""The change outbox: the only code that reads or writes the ``outbox`` table.

Every local mutation records its change here in the caller's transaction (so an entity row and
its outbox row commit together); the sync engine reads the pending rows coalesced per entity,
acknowledges them up to a sequence number once the remote has them, and discards an entity's
rows when a conflict resolution makes them moot. Rows written for pulled entities are never
recorded: the store writes those with ``record=False``.

Functions take an open ``sqlite3.Connection`` (from ``Database.read()`` or ``write()``): the
transaction belongs to the caller.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ._entities import compact_json

__all__ = ["Coalesced", "PendingChange", "ack", "bound", "changes_of", "clear", "count_entities",
           "counts_by_kind", "counts_by_uid", "discard", "fields_after", "first_rows",
           "has_changes", "pending", "queued_creates", "queued_entities", "record"]


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


@dataclass(frozen=True)
class Coalesced:
    """Every queued row of one entity up to a bound, folded into one change."""

    uid: str
    #: True when one of the rows is the entity's create.
    create: bool
    #: Union of the changed fields (domain names).
    fields: frozenset[str]
    min_seq: int
    max_seq: int


# -- writes -----------------------------------------------------------------------------------

def record(conn: sqlite3.Connection, *, table: str, kind: str, uid: str, row_id: int, op: str,
           fields: Iterable[str], now: int) -> None:
    """Queue a change (``op`` "create" or "update" of ``fields``) in the caller's transaction."""
    conn.execute(
        "INSERT INTO outbox (entity_table, entity_kind, entity_uid, entity_id, op, fields,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (table, kind, uid, row_id, op, compact_json(sorted(set(fields))), now))


def ack(conn: sqlite3.Connection, uid: str, max_seq: int) -> None:
    """The remote acknowledged every change of ``uid`` up to ``max_seq``."""
    conn.execute("DELETE FROM outbox WHERE entity_uid = ? AND seq <= ?", (uid, max_seq))


def discard(conn: sqlite3.Connection, uid: str) -> None:
    """Drop every queued change of ``uid`` (deleted locally, or the remote's values taken)."""
    conn.execute("DELETE FROM outbox WHERE entity_uid = ?", (uid,))


def clear(conn: sqlite3.Connection) -> None:
    """Drop every queued change (``SQLiteStore.clear``)."""
    conn.execute("DELETE FROM outbox")


# -- reads ------------------------------------------------------------------------------------

_PENDING = """
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


def pending(conn: sqlite3.Connection) -> list[PendingChange]:
    """Every queued change, oldest first, with the names of what it touches."""
    changes = []
    for row in conn.execute(_PENDING).fetchall():
        model = version = artifact = None
        if row["entity_table"] == "contexts":
            if row["c_kind"] == "model-version":
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


def bound(conn: sqlite3.Connection) -> int:
    """The highest queued ``seq`` now (0 when the outbox is empty)."""
    return int(conn.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0])


def first_rows(conn: sqlite3.Connection, *, after: int, bound: int, kinds: Sequence[str],
               exclude: bool = False, limit: int) -> list[sqlite3.Row]:
    """The first queued row (``seq``, ``entity_uid``, ``entity_table``, ``entity_kind``) of
    each entity of ``kinds`` (every other kind when ``exclude``), ``after`` < seq <= ``bound``,
    oldest first, at most ``limit``."""
    cond = f"o.entity_kind {'NOT ' if exclude else ''}IN ({','.join('?' * len(kinds))})"
    sql = ("SELECT o.seq, o.entity_uid, o.entity_table, o.entity_kind FROM outbox o "
           f"WHERE o.seq > ? AND o.seq <= ? AND {cond} AND NOT EXISTS (SELECT 1 FROM outbox "
           "x WHERE x.entity_uid = o.entity_uid AND x.seq < o.seq) ORDER BY o.seq LIMIT ?")
    return list(conn.execute(sql, (after, bound, *kinds, limit)).fetchall())


def coalesce(conn: sqlite3.Connection, uid: str, bound: int) -> Coalesced | None:
    """Every queued row of ``uid`` up to ``bound`` as one change; None when there is none."""
    rows = conn.execute("SELECT seq, op, fields FROM outbox WHERE entity_uid = ? AND seq <= ? "
                        "ORDER BY seq", (uid, bound)).fetchall()
    if not rows:
        return None
    names: set[str] = set()
    for _seq, _op, text in rows:
        names.update(json.loads(text))
    return Coalesced(uid, any(r[1] == "create" for r in rows), frozenset(names),
                     int(rows[0][0]), int(rows[-1][0]))


def count_entities(conn: sqlite3.Connection, *, bound: int, kinds: Sequence[str] | None = None,
                   models: Collection[str] | None = None) -> int:
    """How many entities have a queued row up to ``bound`` (of ``kinds``; of entities of the
    registered ``models``), in one query."""
    first = ("NOT EXISTS (SELECT 1 FROM outbox x WHERE x.entity_uid = o.entity_uid AND "
             "x.seq < o.seq)")
    where = ["o.seq <= ?", first]
    params: list[Any] = [bound]
    if kinds is not None:
        where.append(f"o.entity_kind IN ({','.join('?' * len(kinds))})")
        params.extend(kinds)
    joins = ""
    if models is not None:
        # The model an entity belongs to: itself, a version's parent, an artifact's version's.
        joins = (" LEFT JOIN contexts c ON o.entity_table = 'contexts' AND c.uid = o.entity_uid"
                 " LEFT JOIN contexts cp ON cp.id = c.parent_id"
                 " LEFT JOIN artifacts a ON o.entity_table != 'contexts' AND a.uid = "
                 "o.entity_uid LEFT JOIN contexts av ON av.id = a.version_id"
                 " LEFT JOIN contexts am ON am.id = av.parent_id")
        where.append("(CASE WHEN o.entity_table = 'contexts' THEN (CASE c.kind WHEN "
                     "'model-version' THEN cp.name WHEN 'registered-model' THEN c.name END) "
                     "ELSE am.name END) IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(sorted(models)))
    return int(conn.execute(f"SELECT count(*) FROM outbox o{joins} WHERE "
                            + " AND ".join(where), params).fetchone()[0])


def queued_entities(conn: sqlite3.Connection) -> int:
    """Entities with queued changes."""
    return int(conn.execute("SELECT count(DISTINCT entity_uid) FROM outbox").fetchone()[0])


def fields_after(conn: sqlite3.Connection, uid: str, seq: int) -> set[str]:
    """Fields of ``uid`` changed after ``seq`` (queued while a push was in flight)."""
    out: set[str] = set()
    for (text,) in conn.execute("SELECT fields FROM outbox WHERE entity_uid = ? AND seq > ?",
                                (uid, seq)):
        out.update(json.loads(text))
    return out


def changes_of(conn: sqlite3.Connection, uid: str) -> tuple[int, set[str]]:
    """(how many changes of ``uid`` are queued, the union of their fields)."""
    out: set[str] = set()
    count = 0
    for (text,) in conn.execute("SELECT fields FROM outbox WHERE entity_uid = ?", (uid,)):
        count += 1
        out.update(json.loads(text))
    return count, out


def has_changes(conn: sqlite3.Connection, uid: str) -> bool:
    """Whether ``uid`` has a queued change."""
    return conn.execute("SELECT 1 FROM outbox WHERE entity_uid = ? LIMIT 1",
                        (uid,)).fetchone() is not None


def queued_creates(conn: sqlite3.Connection) -> set[str]:
    """Uids whose create is queued."""
    return {r[0] for r in conn.execute("SELECT entity_uid FROM outbox WHERE op = 'create'")}


def counts_by_kind(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Queued changes per entity kind and op."""
    out: dict[str, dict[str, int]] = {}
    for kind, op, n in conn.execute("SELECT entity_kind, op, count(*) FROM outbox GROUP BY "
                                    "entity_kind, op ORDER BY entity_kind, op"):
        out.setdefault(kind, {})[op] = int(n)
    return out


def counts_by_uid(conn: sqlite3.Connection, uids: Collection[str]) -> dict[str, int]:
    """Queued changes of each of ``uids`` that has any, in one query."""
    return {str(uid): int(n) for uid, n in conn.execute(
        "SELECT entity_uid, count(*) FROM outbox WHERE entity_uid IN (SELECT value FROM "
        "json_each(?)) GROUP BY entity_uid", (json.dumps(sorted(uids)),))}
