"""Push, the update path: PATCH with If-Match when the link has an ETag (412 -> merge path);
else GET, check the entity is ours, three-way merge with the base, PATCH what the remote lacks
(always with ``state``, properties as the whole merged map). Every success commits link +
local merge + outbox ack together (:func:`commit`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from localhub import outbox
from localhub.codec import camel, from_json
from localhub.errors import RemoteNotFoundError, RemotePreconditionError
from localhub.rest_client import Fetched
from localhub.types import Artifact, BaseResource

from .field_conflicts import record_field_conflicts
from .ledger import Ledger, Link, Local, canonical_json
from .merge import CP, merge, override
from .outcome import BLOCKED, CONFLICT, NOOP, UPDATED, Outcome
from .snapshot import apply_snapshot, content_hash, snapshot, update_body
from .verify import mismatch, record

if TYPE_CHECKING:
    from .plan import Op
    from .push import Pusher

__all__ = ["commit", "local_changes", "update"]


def _cls(entity: BaseResource) -> type[BaseResource]:
    return Artifact if isinstance(entity, Artifact) else type(entity)


def _split(names: set[str]) -> tuple[set[str], set[str]]:
    """Conflict field names -> (top-level fields, custom property keys)."""
    top = {n for n in names if not n.startswith(CP + ".")}
    keys = {n[len(CP) + 1:] for n in names if n.startswith(CP + ".")}
    return top, keys


def _landed(base: dict[str, Any], theirs: dict[str, Any], sends: Sequence[dict[str, Any]]
            ) -> dict[str, Any]:
    """``base`` where the remote holds a value that one of our unacknowledged requests sent:
    that write of ours landed (its reply was lost), so it is what we last saw, not a change
    made by someone else. Per field, and per key of the custom properties."""
    if not sends:
        return base
    out = dict(base)
    for name, value in theirs.items():
        if name == CP:
            props = dict(out.get(CP) or {})
            theirs_props = value or {}
            for sent in sends:
                sent_props = sent.get(CP)
                if sent_props is None:
                    continue
                for key in set(sent_props) | set(theirs_props):
                    if canonical_json(sent_props.get(key)) == canonical_json(theirs_props.get(key)):
                        if key in theirs_props:
                            props[key] = theirs_props[key]
                        else:
                            props.pop(key, None)
            out[CP] = props
        elif any(name in sent and canonical_json(sent[name]) == canonical_json(value)
                 for sent in sends):
            out[name] = value
    return out


def update(p: Pusher, op: Op, local: Local, link: Link, remote_now: Fetched | None = None
            ) -> Outcome:
    cls = _cls(local.entity)
    with p.store.db.read() as conn:
        frozen = p.ledger.frozen_fields(conn, op.uid)
        sends = Ledger.sent(p.ledger.item(conn, op.uid))
    current = remote_now
    # A lookup by natural key (adopt, attach) found ``remote_now``: it is ours already.
    verified = current is not None
    try:
        if current is None and link.etag and p.ctx.use_etags \
                and p.ctx.if_match.honoured():
            body = _fast_body(p, op, local, link, frozen)
            p.keep_marks(op.uid)  # sent: its recorded content stays
            try:
                fetched = p.remote.patch(type(local.entity), link.remote_id, body,
                                         if_match=link.etag)
            except RemotePreconditionError as exc:
                current = _current_from_412(cls, exc, link)
            else:
                # The tag matched, so the entity was exactly the base (ours). An answer
                # with changes we did not send means the tag was not checked after all.
                if _not_ours_only(link, body, fetched):
                    p.ctx.if_match.record(False)
                # Acknowledged at once (not batched): a crash before a batched ack
                # followed by a local edit would give an update-update conflict against
                # our own PATCH (tests/reliability/test_lost_replies.py).
                commit(p, op, local, fetched, to_local=None, conflicts={}, link=link)
                if "uri" in op.fields:
                    p.note_rewrite(op, local)
                return UPDATED
        for _ in range(3):
            if current is None:
                current = p.remote.fetch(cls, link.remote_id)
            if not verified:
                why = mismatch(p.remote, local, link, current, _parent_id(p, local))
                if why is not None:
                    return _mismatch(p, op, local, link, current, why)
                verified = True
                if (current.etag and p.ctx.use_etags
                        and p.ctx.if_match.honoured() is None):
                    current = p.ctx.if_match.probe(
                        p.remote, type(local.entity), link.remote_id, current)
            outcome = _merge_and_patch(p, op, local, link, current, frozen, sends)
            if outcome is not None:
                return outcome
            current = None  # 412 on the merged PATCH: read again
        return BLOCKED
    except RemoteNotFoundError as exc:
        with p.store.db.write() as conn:
            if not any(c["kind"] == "remote-missing"
                       for c in p.ledger.open_conflicts(conn, op.uid)):
                p.ledger.add_conflict(
                    conn, local=local, kind="remote-missing", fields_=[], base=link.base,
                    mine=snapshot(local.entity), theirs={}, remote_id=link.remote_id,
                    message=exc.message)
        return CONFLICT


def _parent_id(p: Pusher, local: Local) -> str | None:
    """The remote id the local parent is linked to (None: no parent, or not linked)."""
    if local.parent_uid is None:
        return None
    with p.store.db.read() as conn:
        parent = p.ledger.link(conn, local.parent_uid)
    return None if parent is None else parent.remote_id


def _mismatch(p: Pusher, op: Op, local: Local, link: Link, current: Fetched, why: str
              ) -> Outcome:
    """The entity at the link's id is not ours: a ``remote-mismatch`` conflict, nothing
    written, nothing acknowledged, the link kept (a policy does not settle it)."""
    p.keep_marks(op.uid)  # nothing sent: its recorded content stays
    with p.store.db.write() as conn:
        record(conn, p.ledger, local, link, current.entity, f"{op.label}: {why}")
    return CONFLICT


def _not_ours_only(link: Link, body: dict[str, Any], fetched: Fetched) -> bool:
    """Whether a conditional PATCH's answer differs from the base in a field the body did
    not write (someone else's change: the server did not check the tag)."""
    theirs = snapshot(fetched.entity)
    sent = {n for n in theirs if camel(n) in body}
    return any(theirs.get(n) != link.base.get(n) for n in theirs if n not in sent)


def _current_from_412(cls: type[BaseResource], exc: RemotePreconditionError,
                      link: Link) -> Fetched | None:
    if isinstance(exc.body, dict) and exc.body.get("id") == link.remote_id:
        try:
            return Fetched(from_json(cls, exc.body), None, exc.body)
        except ValueError:
            return None
    return None


def local_changes(p: Pusher, op: Op, local: Local, link: Link, frozen: set[str]
                   ) -> dict[str, Any]:
    """The local snapshot with everything not changed locally (or frozen) at base."""
    top_frozen, key_frozen = _split(frozen)
    mine = snapshot(p.ctx.outgoing(local.entity))
    eff = dict(link.base)
    for name in mine:
        if name == CP:
            continue
        if name in op.fields and name not in top_frozen:
            eff[name] = mine[name]
    if CP in op.fields:
        props = dict(mine.get(CP) or {})
        base_props = link.base.get(CP) or {}
        for key in key_frozen:
            if key in base_props:
                props[key] = base_props[key]
            else:
                props.pop(key, None)
        eff[CP] = props
    return eff


def _fast_body(p: Pusher, op: Op, local: Local, link: Link, frozen: set[str]) -> dict[str, Any]:
    eff = local_changes(p, op, local, link, frozen)
    target = apply_snapshot(local.entity, eff)
    names = {n for n in eff if eff.get(n) != link.base.get(n)} | {"state"}
    return update_body(target, names)


def _merge_and_patch(p: Pusher, op: Op, local: Local, link: Link, current: Fetched,
                     frozen: set[str], sends: list[dict[str, Any]]) -> Outcome | None:
    theirs = snapshot(current.entity)
    eff = local_changes(p, op, local, link, frozen)
    unchanged = (int(current.entity.last_update_time_since_epoch or 0)
                 == link.base_update_time and content_hash(theirs) == link.base_hash)
    base = theirs if unchanged else _landed(link.base, theirs, sends)
    policy = p.ctx.on_conflict
    archived = (not unchanged and base.get("state") != "ARCHIVED"
                and theirs.get("state") == "ARCHIVED" and eff.get("state") != "ARCHIVED")
    if archived:
        # Remote archived while we edited: none of our edits is written by itself.
        names: set[str] = set()
        for n in eff:
            if n == CP:
                bp, lp = base.get(CP) or {}, eff.get(CP) or {}
                names |= {f"{CP}.{k}" for k in set(bp) | set(lp) if bp.get(k) != lp.get(k)}
            elif n != "state" and eff.get(n) != base.get(n):
                names.add(n)
        conflicts = {n: _triple(n, base, eff, theirs) for n in names}
        to_remote, to_local = dict(theirs), dict(theirs)
        if conflicts and policy != "theirs":
            to_local = override(theirs, conflicts, side=1)
        if conflicts and policy == "ours":
            to_remote = to_local
        kind = "archived-vs-edit"
    else:
        result = merge(base, eff, theirs)
        conflicts, to_remote, to_local = result.conflicts, result.to_remote, result.to_local
        if conflicts and policy == "ours":
            to_remote = override(to_remote, conflicts, side=1)
        elif conflicts and policy == "theirs":
            to_local = override(to_local, conflicts, side=2)
        kind = "update-update"
    to_local = _keep_frozen(to_local, local, frozen)
    target = apply_snapshot(current.entity, to_remote)
    changed = {n for n in to_remote if to_remote.get(n) != theirs.get(n)}
    fetched = current
    if changed:
        body = update_body(target, changed | {"state"})
        p.keep_marks(op.uid)  # sent: its recorded content stays
        try:
            fetched = p.remote.patch(type(local.entity), link.remote_id, body,
                                     if_match=current.etag
                                     if p.ctx.use_etags else None)
        except RemotePreconditionError:
            return None
    commit(p, op, local, fetched, to_local=to_local, conflicts=conflicts, link=link,
           conflict_kind=kind)
    if changed and "uri" in changed:
        p.note_rewrite(op, local)
    if conflicts:
        return CONFLICT
    return UPDATED if changed else NOOP


def _keep_frozen(snap: dict[str, Any], local: Local, frozen: set[str]) -> dict[str, Any]:
    """Fields of open conflicts keep their local values until resolved."""
    if not frozen:
        return snap
    mine = snapshot(local.entity)
    top, keys = _split(frozen)
    out = dict(snap)
    for name in top:
        if name in mine:
            out[name] = mine[name]
    if keys:
        props = dict(out.get(CP) or {})
        for key in keys:
            if key in (mine.get(CP) or {}):
                props[key] = mine[CP][key]
            else:
                props.pop(key, None)
        out[CP] = props
    return out


def _triple(name: str, base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]
            ) -> tuple[Any, Any, Any]:
    if name.startswith(CP + "."):
        key = name[len(CP) + 1:]
        return ((base.get(CP) or {}).get(key), (mine.get(CP) or {}).get(key),
                (theirs.get(CP) or {}).get(key))
    return base.get(name), mine.get(name), theirs.get(name)


def commit(p: Pusher, op: Op, local: Local, fetched: Fetched, *, to_local: dict[str, Any] | None,
           conflicts: dict[str, tuple[Any, Any, Any]], link: Link,
           conflict_kind: str = "update-update") -> None:
    """Link + local merge + outbox ack in one commit, with the merge's field conflicts."""
    with p.store.db.write() as conn:
        fresh = p.store.load(conn, op.table, op.uid)
        if fresh is not None and to_local is not None:
            newer = outbox.fields_after(conn, op.uid, op.max_seq)
            to_local = p.ctx.localize(to_local, fresh.entity)
            names = {n for n in to_local if n not in newer}
            updated = apply_snapshot(fresh.entity, to_local, names)
            if updated is not fresh.entity:
                p.store.write_entity(conn, fresh, updated)
        p.ledger.set_link(conn, op.uid, op.table, fetched.entity, fetched.etag)
        p.ledger.ack(conn, op.uid, op.max_seq)
        if conflicts:
            record_field_conflicts(
                p.ledger, conn, local=local, conflicts=conflicts, remote_id=link.remote_id,
                message=f"{op.label}: changed on both sides", policy=p.ctx.on_conflict,
                kind=conflict_kind)
