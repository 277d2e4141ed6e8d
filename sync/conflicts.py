"""Conflicts as rows: list them, show base / local / remote, resolve ours / theirs / a value,
or field by field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localhub import outbox
from localhub.errors import InvalidInputError, NotFoundError

from .contract import LocalStore
from .ledger import Ledger, close_conflict, conflict_rows
from .merge import CP
from .registration import descendant_conflicts
from .snapshot import apply_snapshot, property_cell, snapshot, snapshot_cells

__all__ = ["FIELD_KINDS", "Conflict", "Pick", "Value", "field_picks", "field_word",
           "list_conflicts", "match_field", "resolve", "resolve_fields"]


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


#: Conflict kinds whose fields take a choice each (:func:`resolve_fields`).
FIELD_KINDS = ("update-update", "archived-vs-edit", "create-different")


@dataclass(frozen=True)
class Value:
    """An explicit value for one field in :func:`resolve_fields` (``Value("ours")`` is the
    string ``"ours"``, not the side)."""

    value: Any


#: One field's choice: the local value, the remote's, or an explicit value.
Pick = str | Value


def field_word(name: str) -> str:
    """A conflict field as the user names it: a custom property by its key."""
    if name == CP:
        return "custom properties"
    return name[len(CP) + 1:] if name.startswith(CP + ".") else name


def match_field(conflict: Conflict, given: str) -> str | None:
    """The conflict's field named ``given`` (a custom property's key alone is accepted)."""
    if given in conflict.fields:
        return given
    prop = f"{CP}.{given}"
    return prop if prop in conflict.fields else None


def field_picks(conflict: Conflict, choices: Mapping[str, Any]) -> dict[str, Pick]:
    """``choices`` (field -> ``"ours"``, ``"theirs"``, a :class:`Value` or any other value)
    per conflict field; every field must have one."""
    picks: dict[str, Pick] = {}
    shown = ", ".join(field_word(f) for f in conflict.fields)
    for given, choice in choices.items():
        name = match_field(conflict, given)
        if name is None:
            raise InvalidInputError("fields", f"conflict #{conflict.id} has no field {given!r};"
                                              f" its fields: {shown}")
        if name in picks:
            raise InvalidInputError("fields", f"field {given!r} has two choices")
        picks[name] = choice if isinstance(choice, Value) or choice in ("ours", "theirs") \
            else Value(choice)
    missing = [field_word(f) for f in conflict.fields if f not in picks]
    if missing:
        raise InvalidInputError("fields", f"conflict #{conflict.id} needs a choice for every "
                                          f"field; missing: {', '.join(missing)} (or resolve "
                                          "every field with ours or theirs)")
    return {f: picks[f] for f in conflict.fields}


def _load(store: LocalStore, conflict_id: int) -> tuple[Conflict, Any]:
    with store.db.read() as conn:
        found = conflict_rows(conn, conflict_id=conflict_id, include_resolved=True)
    if not found:
        raise NotFoundError(f"no conflict with id {conflict_id}", entity="conflict",
                            key=str(conflict_id))
    return _conflict(found[0]), found[0]


def resolve(store: LocalStore, conflict_id: int, choice: str, value: Any = None, *,
            cascade: bool = True) -> Conflict:
    """Resolve a conflict.

    * ``ours``: the local values are queued and pushed over the remote's on the next sync.
    * ``theirs``: the remote's values are taken locally (nothing queued).
    * ``value``: ``value`` is set locally for the conflict's field and pushed (one field).

    :func:`resolve_fields` takes a choice per field.

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
    c, row = _load(store, conflict_id)
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
    picks: dict[str, Pick] = {f: Value(value) if choice == "value" else choice
                              for f in c.fields}
    return _settle(store, c, row, choice, picks,
                   cascade=cascade and c.kind == "create-different" and choice != "value")


def resolve_fields(store: LocalStore, conflict_id: int, choices: Mapping[str, Any]
                   ) -> Conflict:
    """Resolve a conflict field by field: ``choices`` maps each of its fields (a custom
    property as ``custom_properties.KEY`` or ``KEY``) to ``"ours"``, ``"theirs"`` or a value
    (:class:`Value` for the strings ``"ours"`` / ``"theirs"`` themselves).

    Fields taken as ours or given a value are pushed on the next sync; a field the remote
    changed again since the conflict was listed gets a new conflict instead, as with
    ``ours``. Only ``update-update``, ``archived-vs-edit`` and ``create-different`` conflicts
    have fields to choose; every field needs a choice. All fields ``ours`` (or ``theirs``) is
    :func:`resolve` with that side.
    """
    c, row = _load(store, conflict_id)
    if c.kind not in FIELD_KINDS:
        raise InvalidInputError("fields", f"conflict #{conflict_id} is {c.kind}: it has no "
                                          "fields to choose; it takes ours or theirs")
    picks = field_picks(c, choices)
    sides = {p for p in picks.values() if isinstance(p, str)}
    if len(sides) == 1 and len(picks) == sum(isinstance(p, str) for p in picks.values()):
        return resolve(store, conflict_id, sides.pop())
    if not c.open:
        raise InvalidInputError("conflict", f"#{conflict_id} is already resolved "
                                            f"({c.resolution})")
    resolution = "fields:" + ",".join(
        f"{field_word(n)}={p if isinstance(p, str) else 'value'}" for n, p in picks.items())
    return _settle(store, c, row, resolution, picks, cascade=False)


def _settle(store: LocalStore, c: Conflict, row: Any, resolution: str,
            picks: dict[str, Pick], *, cascade: bool) -> Conflict:
    """Apply the picks (or ``resolution``'s side for kinds without fields) in one
    transaction, close the conflict, then settle the registration's children."""
    ledger = Ledger(store, c.remote)
    relink: list[str] = []
    with store.db.write() as conn:
        table = row["entity_table"]
        local = store.load(conn, table, c.entity_uid)
        if local is None:
            raise NotFoundError(f"the entity of conflict #{c.id} no longer exists")
        if c.kind == "create-different":
            relink = _settle_create(conn, store, ledger, c, table, local, picks)
        elif c.kind == "remote-mismatch":
            relink = _settle_mismatch(conn, store, ledger, c, local, resolution)
        elif c.kind == "remote-missing":
            mine = snapshot(local.entity)
            if resolution == "ours":
                ledger.unlink(conn, c.entity_uid)
                store.queue_change(conn, local, "create",
                                   [n for n, v in mine.items() if v not in (None, {}, [])])
            elif resolution == "theirs":
                outbox.discard(conn, c.entity_uid)
            else:
                raise InvalidInputError("choice", "a remote-missing conflict takes ours or theirs")
        else:  # update-update, archived-vs-edit
            _settle_update(conn, store, ledger, c, local, picks)
        close_conflict(conn, c.id, resolution, store.clock())
        row = conflict_rows(conn, conflict_id=c.id, include_resolved=True)[0]
        grouped = descendant_conflicts(conn, store, c.remote, c.entity_uid) if cascade else []
    for child_id in grouped:  # the rest of the registration (every level) takes the same side
        resolve(store, child_id, resolution, cascade=False)
    # As after an interrupted create: the next push looks the natural key up first and
    # links an equal remote entity (or lists a create-different conflict), else POSTs.
    if relink:
        ledger.mark_attempted_many(relink)
    return _conflict(row)


def _apply_picks(mine: dict[str, Any], picks: dict[str, Pick], theirs: dict[str, Any]
                 ) -> list[str]:
    """Set the theirs and value picks in ``mine``; the fields to push (ours and values)."""
    for name, pick in picks.items():
        if pick == "theirs":
            _set_field(mine, name, theirs.get(name))
        elif isinstance(pick, Value):
            _set_field(mine, name, _wire(name, pick.value))
    return [n for n, p in picks.items() if p != "theirs"]


def _top(names: list[str]) -> list[str]:
    return sorted({n.split(".", 1)[0] for n in names})


def _settle_create(conn: Any, store: LocalStore, ledger: Ledger, c: Conflict, table: str,
                   local: Any, picks: dict[str, Pick]) -> list[str]:
    """A ``create-different``: link the remote twin, then each field ours, theirs or a value;
    the uids to re-link (a twin that is not this entity's counterpart)."""
    mine = snapshot(local.entity)
    taken = None if c.remote_id is None else ledger.link_by_remote_id(conn, table, c.remote_id)
    if (taken is not None and taken.uid != c.entity_uid) \
            or c.remote_values.get("name", mine.get("name")) != mine.get("name"):
        # The remote entity is not this one's counterpart: another name (a LIKE lookup
        # of the upstream server), or already the counterpart of another local entity.
        # Linking or copying it would break a UNIQUE key; ours sends the local entity
        # under its own name (looked up exactly first), theirs is not possible.
        if any(p != "ours" for p in picks.values()):
            raise InvalidInputError(
                "choice", f"conflict #{c.id} matched remote {c.remote_id} "
                f"({c.remote_values.get('name')!r}), which is not this entity's "
                "counterpart; resolve it with ours (the local entity is sent as it is)")
        return [c.entity_uid]
    link_entity = apply_snapshot(local.entity, c.remote_values)
    link_entity.id = c.remote_id
    link_entity.last_update_time_since_epoch = "0"
    ledger.set_link(conn, c.entity_uid, table, link_entity, None, pin=False)
    theirs = {n: _get_field(c.remote_values, n) for n in c.fields}
    pushed = _apply_picks(mine, picks, theirs)
    if not pushed:
        store.write_entity(conn, local, apply_snapshot(local.entity, c.remote_values))
        outbox.discard(conn, c.entity_uid)
        return []
    if any(p != "ours" for p in picks.values()):
        store.write_entity(conn, local, apply_snapshot(local.entity, mine))
    top = _top(pushed)
    _queue_ours(conn, store, local, mine, top, {n: c.remote_values.get(n) for n in top})
    return []


def _settle_mismatch(conn: Any, store: LocalStore, ledger: Ledger, c: Conflict, local: Any,
                     choice: str) -> list[str]:
    """A ``remote-mismatch``: the link names an entity that is not ours: drop it either way;
    the uids to re-link."""
    if choice not in ("ours", "theirs"):
        raise InvalidInputError("choice", "a remote-mismatch conflict takes ours or theirs")
    ledger.unlink(conn, c.entity_uid)
    if choice == "theirs":
        outbox.discard(conn, c.entity_uid)
        return []
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
    return relink


def _settle_update(conn: Any, store: LocalStore, ledger: Ledger, c: Conflict, local: Any,
                   picks: dict[str, Pick]) -> None:
    """An ``update-update`` or ``archived-vs-edit``: each field ours, theirs or a value."""
    # The remote may have changed these fields again since the conflict was listed (a pull
    # re-bases the link but keeps the fields frozen): the link's base is the remote as last
    # seen, and what "theirs" means now.
    link = ledger.link(conn, c.entity_uid)
    now = {n: _get_field(link.base, n) if link is not None else c.remote_values.get(n)
           for n in c.fields}
    mine = snapshot(local.entity)
    pushed = _apply_picks(mine, picks, now)
    if any(p != "ours" for p in picks.values()):
        store.write_entity(conn, local, apply_snapshot(local.entity, mine))
    # Pushing ours over a remote value nobody was shown would be a silent overwrite: such
    # fields get a new conflict with the current remote value.
    moved = [n for n in pushed if now[n] != c.remote_values.get(n)
             and now[n] != _get_field(mine, n)]
    if moved:
        ledger.add_conflict(
            conn, local=local, kind="update-update", fields_=moved,
            base={n: c.remote_values.get(n) for n in moved},
            mine={n: _get_field(mine, n) for n in moved},
            theirs={n: now[n] for n in moved}, remote_id=c.remote_id,
            message=f"changed again on the remote before conflict #{c.id} was resolved")
    if pushed:
        _queue_ours(conn, store, local, mine, _top(pushed), now)


def _requeue(conn: Any, store: LocalStore, local: Any) -> None:
    """Queue a create of every field the local entity holds."""
    mine = snapshot(local.entity)
    store.queue_change(conn, local, "create",
                       [n for n, v in mine.items() if v not in (None, {}, [])])


def _wire(name: str, value: Any) -> Any:
    """A user-given value in snapshot form (properties become typed cells)."""
    if name.startswith(CP + "."):
        return None if value is None else property_cell(value)
    if name == CP:  # the whole map (a create-different field): plain values become cells
        return snapshot_cells(value or {})
    if hasattr(value, "value"):
        return value.value
    return value
