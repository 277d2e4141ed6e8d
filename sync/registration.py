"""Registration clashes: two people register the same new model name offline.

A create that finds the remote entity under its natural key compares the two; this module
makes that comparison settle in one round:

* Fields the user never set (the owner and author a registration filled in from the login
  name) do not make a conflict by themselves: the remote's values are adopted locally and the
  adoption is recorded (``meta`` key ``adopted:<uid>``: field -> ours / theirs).
* When a model (or version) clashes, its local children that are new are compared with the
  remote's children in the same run, and each clashing one gets its own conflict, listed
  beside its parent's. Resolving the parent with ``ours`` / ``theirs`` resolves them too
  (:func:`descendant_conflicts`), so one ``resolve`` and one ``sync`` settle the whole
  registration.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from localhub.store_register import DEFAULTED_PREFIX, defaulted_values

from .ledger import conflict_rows
from .snapshot import apply_snapshot, snapshot

if TYPE_CHECKING:
    from localhub.sync_rows import Local

    from .contract import LocalStore
    from .push import Pusher

__all__ = ["ADOPTED_PREFIX", "adopt_defaults", "descendant_conflicts", "differing",
           "group_children"]

#: ``meta`` key prefix recording, per entity uid, the defaults replaced by the remote's values.
ADOPTED_PREFIX = "adopted:"


def differing(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The content fields whose values differ, sorted."""
    return sorted(n for n in set(mine) | set(theirs) if mine.get(n) != theirs.get(n))


def adopt_defaults(store: LocalStore, local: Local, mine: dict[str, Any],
                   theirs: dict[str, Any]) -> tuple[Local, dict[str, Any]]:
    """Take the remote's values for the fields that differ only because they hold a default
    the user never set; returns the reloaded local entity and its outgoing snapshot."""
    with store.db.read() as conn:
        defaults = defaulted_values(conn, local.uid)
    soft = {n: v for n, v in defaults.items()
            if mine.get(n) == v and theirs.get(n) != v}
    if not soft:
        return local, mine
    adopted = {n: theirs.get(n) for n in soft}
    with store.db.write() as conn:
        store.write_entity(conn, local, apply_snapshot(local.entity, {**mine, **adopted},
                                                       set(soft)))
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     (ADOPTED_PREFIX + local.uid, json.dumps(
                         {n: {"ours": soft[n], "theirs": adopted[n]} for n in soft},
                         sort_keys=True)))
        conn.execute("DELETE FROM meta WHERE key = ?", (DEFAULTED_PREFIX + local.uid,))
        reloaded = store.load(conn, local.table, local.uid)
    assert reloaded is not None
    return reloaded, {**mine, **adopted}


def group_children(pusher: Pusher, local: Local, remote_id: str, group: int) -> None:
    """Compare the new local children of a clashing ``local`` (remote twin ``remote_id``)
    with the remote's, recording a ``create-different`` conflict for each that differs."""
    store, ledger = pusher.store, pusher.ledger
    with store.db.read() as conn:
        children = [c for table, uid in store.child_uids(conn, local)
                    if ledger.link(conn, uid) is None and not ledger.has_open_conflict(conn, uid)
                    and (c := store.load(conn, table, uid)) is not None]
    for child in children:
        found = pusher.lookup(child.entity, remote_id)
        if found is None:
            continue  # absent on the remote: created once the parent is settled
        mine = snapshot(pusher.ctx.outgoing(child.entity))
        theirs = snapshot(found.entity)
        child, mine = adopt_defaults(store, child, mine, theirs)
        fields = differing(mine, theirs)
        label = f"{child.entity.kind} {getattr(child.entity, 'name', '')!r}"
        if fields:
            with store.db.write() as conn:
                ledger.add_conflict(
                    conn, local=child, kind="create-different", fields_=fields, base={},
                    mine=mine, theirs=theirs, remote_id=str(found.entity.id),
                    message=f"{label} already exists on the remote"
                            f" with different content (part of the registration in "
                            f"conflict #{group}: resolving #{group} settles it too)")
        group_children(pusher, child, str(found.entity.id), group)


def descendant_conflicts(conn: sqlite3.Connection, store: LocalStore, remote: str,
                         uid: str) -> list[int]:
    """Open ``create-different`` conflicts with ``remote`` of the entities below ``uid``."""
    found: list[int] = []
    for row in conn_rows(conn, remote):
        if row["kind"] != "create-different" or row["entity_uid"] == uid:
            continue
        local = store.load(conn, row["entity_table"], row["entity_uid"])
        seen = 0
        while local is not None and local.parent_uid is not None and seen < 3:
            if local.parent_uid == uid:
                found.append(int(row["id"]))
                break
            table = "contexts"
            local = store.load(conn, table, local.parent_uid)
            seen += 1
    return found


def conn_rows(conn: sqlite3.Connection, remote: str) -> list[sqlite3.Row]:
    """The open conflicts with ``remote``."""
    return list(conflict_rows(conn, remote=remote))
