"""Conflicts as rows: list them, show base / local / remote, resolve ours / theirs / value."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from localhub import outbox
from localhub.errors import InvalidInputError, NotFoundError

from .contract import LocalStore
from .ledger import Ledger, close_conflict, conflict_rows
from .merge import CP
from .registration import descendant_conflicts
from .snapshot import apply_snapshot, property_cell, snapshot

__all__ = ["Conflict", "list_conflicts", "resolve"]


@dataclass(frozen=True)
class Conflict:
    """One conflict: the fields in question with their base, local and remote values."""

    id: int
    remote: str
    entity_uid: str
    entity_kind: str
    kind: str
    fields: tuple[str, ...]
    base: dict[str, Any]
    local: dict[str, Any]
    remote_values: dict[str, Any]
    remote_id: str | None
    message: str | None
    created_at: int
    resolved_at: int | None
    resolution: str | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


def _conflict(row: Any) -> Conflict:
    return Conflict(int(row["id"]), row["remote"], row["entity_uid"], row["entity_kind"],
                    row["kind"], tuple(json.loads(row["fields"])), json.loads(row["base"]),
                    json.loads(row["local"]), json.loads(row["remote_values"]), row["remote_id"],
                    row["message"], int(row["created_at"]), row["resolved_at"],
                    row["resolution"])


def list_conflicts(store: LocalStore, *, remote: str | None = None,
                   include_resolved: bool = False) -> list[Conflict]:
    """Conflicts, oldest first (open ones only unless ``include_resolved``)."""
    with store.db.read() as conn:
        return [_conflict(r) for r in conflict_rows(conn, remote=remote,
                                                    include_resolved=include_resolved)]


def _set_field(snap: dict[str, Any], name: str, value: Any) -> None:
    if name.startswith(CP + "."):
        key = name[len(CP) + 1:]
        props = dict(snap.get(CP) or {})
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
        snap[CP] = props
    else:
        snap[name] = value


def _queue_ours(conn: Any, store: LocalStore, local: Any, mine: dict[str, Any], names: list[str],
                theirs: dict[str, Any]) -> None:
    """Queue ``names`` to be pushed over the remote's values. A field we have no value for
    and the remote has cannot be pushed (a PATCH cannot unset a field: null means keep):
    it takes the remote's value here instead of differing from it for good."""
    unsettable = [n for n in names if n != CP and not n.startswith(CP + ".")
                  and mine.get(n) is None and theirs.get(n) is not None]
    if unsettable:
        for name in unsettable:
            mine[name] = theirs[name]
        store.write_entity(conn, local, apply_snapshot(local.entity, mine))
    rest = [n for n in names if n not in unsettable]
    if rest:
        store.queue_change(conn, local, "update", rest)


def _get_field(snap: dict[str, Any], name: str) -> Any:
    """A field of a snapshot by conflict field name (None for an absent property)."""
    if name.startswith(CP + "."):
        return (snap.get(CP) or {}).get(name[len(CP) + 1:])
    return snap.get(name)


def resolve(  # noqa: C901 - one decision table over the conflict kinds
        store: LocalStore, conflict_id: int, choice: str, value: Any = None, *,
        cascade: bool = True) -> Conflict:
    """Resolve a conflict.

    * ``ours``: the local values are queued and pushed over the remote's on the next sync.
    * ``theirs``: the remote's values are taken locally (nothing queued).
    * ``value``: ``value`` is set locally for the conflict's field and pushed (one field).

    ``ours`` / ``theirs`` on a ``create-different`` conflict also resolve the open
    ``create-different`` conflicts of the entity's children (one registration, one resolve),
    unless ``cascade`` is False.

    ``remote-mismatch`` (the linked id holds another entity): ``ours`` drops the link and
    queues a create that re-links by natural key or re-creates; ``theirs`` drops the link and
    the queued changes (the local copy stays, unlinked; the remote's entities are pulled as
    their own).
    """
    if choice not in ("ours", "theirs", "value"):
        raise InvalidInputError("choice", "must be ours, theirs or value")
    with store.db.read() as conn:
        found = conflict_rows(conn, conflict_id=conflict_id, include_resolved=True)
    row = found[0] if found else None
    if row is None:
        raise NotFoundError(f"no conflict with id {conflict_id}", entity="conflict",
                            key=str(conflict_id))
    c = _conflict(row)
    if not c.open and c.resolution == choice != "value":
        # Settled the same way already (a registration's parent settles its children): a
        # repeated resolve, e.g. of every conflict a listing showed, is not an error.
        return c
    if not c.open:
        raise InvalidInputError("conflict", f"#{conflict_id} is already resolved "
                                            f"({c.resolution})")
    if choice == "value" and len(c.fields) != 1:
        raise InvalidInputError("value", f"conflict #{conflict_id} has {len(c.fields)} fields; "
                                         "an explicit value resolves a one-field conflict")
    ledger = Ledger(store, c.remote)
    relink: list[str] = []
    with store.db.write() as conn:
        table = row["entity_table"]
        local = store.load(conn, table, c.entity_uid)
        if local is None:
            raise NotFoundError(f"the entity of conflict #{conflict_id} no longer exists")
        mine = snapshot(local.entity)
        top = sorted({f.split(".", 1)[0] for f in c.fields})
        taken = None if c.kind != "create-different" or c.remote_id is None else \
            ledger.link_by_remote_id(conn, table, c.remote_id)
        if c.kind == "create-different" and (
                (taken is not None and taken.uid != c.entity_uid)
                or c.remote_values.get("name", mine.get("name")) != mine.get("name")):
            # The remote entity is not this one's counterpart: another name (a LIKE lookup
            # of the upstream server), or already the counterpart of another local entity.
            # Linking or copying it would break a UNIQUE key; ours sends the local entity
            # under its own name (looked up exactly first), theirs is not possible.
            if choice != "ours":
                raise InvalidInputError(
                    "choice", f"conflict #{conflict_id} matched remote {c.remote_id} "
                    f"({c.remote_values.get('name')!r}), which is not this entity's "
                    "counterpart; resolve it with ours (the local entity is sent as it is)")
            relink = [c.entity_uid]
        elif c.kind == "create-different":
            link_entity = apply_snapshot(local.entity, c.remote_values)
            link_entity.id = c.remote_id
            link_entity.last_update_time_since_epoch = "0"
            ledger.set_link(conn, c.entity_uid, table, link_entity, None, pin=False)
            if choice == "theirs":
                store.write_entity(conn, local, apply_snapshot(local.entity, c.remote_values))
                outbox.discard(conn, c.entity_uid)
            else:
                if choice == "value":
                    _set_field(mine, c.fields[0], _wire(c.fields[0], value))
                    store.write_entity(conn, local, apply_snapshot(local.entity, mine))
                _queue_ours(conn, store, local, mine, top,
                            {n: c.remote_values.get(n) for n in top})
        elif c.kind == "remote-mismatch":
            # The link names an entity that is not ours: drop it either way.
            ledger.unlink(conn, c.entity_uid)
            if choice == "ours":
                # Its children's links were made under the doubtful id: re-link them too.
                relink = [c.entity_uid]
                for below_table, below_uid in store.descendant_uids(conn, c.entity_uid):
                    below = store.load(conn, below_table, below_uid)
                    if below is None or ledger.link(conn, below_uid) is None:
                        continue
                    ledger.unlink(conn, below_uid)
                    relink.append(below_uid)
                    _requeue(conn, store, below)
                _requeue(conn, store, local)
            elif choice == "theirs":
                outbox.discard(conn, c.entity_uid)
            else:
                raise InvalidInputError("choice", "a remote-mismatch conflict takes ours or "
                                                  "theirs")
        elif c.kind == "remote-missing":
            if choice == "ours":
                ledger.unlink(conn, c.entity_uid)
                store.queue_change(conn, local, "create",
                                   [n for n, v in mine.items() if v not in (None, {}, [])])
            elif choice == "theirs":
                outbox.discard(conn, c.entity_uid)
            else:
                raise InvalidInputError("choice", "a remote-missing conflict takes ours or theirs")
        else:  # update-update, archived-vs-edit
            # The remote may have changed these fields again since the conflict was listed
            # (a pull re-bases the link but keeps the fields frozen): the link's base is the
            # remote as last seen, and what "theirs" means now.
            link = ledger.link(conn, c.entity_uid)
            now = {n: _get_field(link.base, n) if link is not None else c.remote_values.get(n)
                   for n in c.fields}
            if choice == "theirs":
                for name in c.fields:
                    _set_field(mine, name, now[name])
                store.write_entity(conn, local, apply_snapshot(local.entity, mine))
            else:
                if choice == "value":
                    _set_field(mine, c.fields[0], _wire(c.fields[0], value))
                    store.write_entity(conn, local, apply_snapshot(local.entity, mine))
                # Pushing ours over a remote value nobody was shown would be a silent
                # overwrite: such fields get a new conflict with the current remote value.
                moved = [n for n in c.fields if now[n] != c.remote_values.get(n)
                         and now[n] != _get_field(mine, n)]
                if moved:
                    ledger.add_conflict(
                        conn, local=local, kind="update-update", fields_=moved,
                        base={n: c.remote_values.get(n) for n in moved},
                        mine={n: _get_field(mine, n) for n in moved},
                        theirs={n: now[n] for n in moved}, remote_id=c.remote_id,
                        message=f"changed again on the remote before conflict #{c.id} was "
                                "resolved")
                _queue_ours(conn, store, local, mine, top, now)
        close_conflict(conn, conflict_id, choice, store.clock())
        row = conflict_rows(conn, conflict_id=conflict_id, include_resolved=True)[0]
        grouped = descendant_conflicts(conn, store, c.remote, c.entity_uid) \
            if cascade and c.kind == "create-different" and choice != "value" else []
    for child_id in grouped:  # the rest of the registration (every level) takes the same side
        resolve(store, child_id, choice, cascade=False)
    # As after an interrupted create: the next push looks the natural key up first and
    # links an equal remote entity (or lists a create-different conflict), else POSTs.
    if relink:
        ledger.mark_attempted_many(relink)
    return _conflict(row)


def _requeue(conn: Any, store: LocalStore, local: Any) -> None:
    """Queue a create of every field the local entity holds."""
    mine = snapshot(local.entity)
    store.queue_change(conn, local, "create",
                       [n for n, v in mine.items() if v not in (None, {}, [])])


def _wire(name: str, value: Any) -> Any:
    """A user-given value in snapshot form (properties become typed cells)."""
    if name.startswith(CP + "."):
        return None if value is None else property_cell(value)
    if hasattr(value, "value"):
        return value.value
    return value
