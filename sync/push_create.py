"""Push, the create path: never attempted against this remote -> mark attempted (committed)
-> POST; attempted before, or 409 -> look the natural key up -> absent: POST; equal: adopt;
different: conflict (or our own create whose reply was lost: adopt, then update). Also the
attach of an artifact created without a version to its version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from localhub.errors import RemoteConflictError
from localhub.rest_client import Fetched
from localhub.types import (
    Artifact,
    BaseResource,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)

from .field_conflicts import policy_resolution
from .ledger import Link, Local, canonical_json
from .outcome import ADOPTED, BLOCKED, CONFLICT, CREATED, NOOP, UPDATED, Outcome, Rejected
from .push_update import commit, update
from .registration import adopt_defaults, group_children
from .snapshot import apply_snapshot, snapshot

if TYPE_CHECKING:
    from .plan import Op
    from .push import Pusher

__all__ = ["ATTACH", "attach", "create", "lookup"]

#: The outbox field of an artifact linked to a version after its create
#: (``SQLiteStore.attach_artifact``).
ATTACH = "version_id"


def _same_content(sent: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Whether the remote holds exactly a recorded request's content (compared as JSON, the
    form it was recorded in)."""
    return canonical_json(sent) == canonical_json(theirs)


# -- attach -------------------------------------------------------------------------------


def attach(p: Pusher, op: Op, local: Local, link: Link, version_id: str | None) -> Outcome:
    """Link a remote artifact created without a version to its version: the upsert by
    ``id`` of kubeflow/model-registry (``POST /model_versions/{id}/artifacts``), which
    links the existing artifact instead of copying it; then the other changes, if any."""
    op.fields.discard(ATTACH)
    if version_id is None:  # attached locally to a version the remote does not know
        return BLOCKED
    body: dict[str, Any] = {"artifactType": local.entity.kind, "id": link.remote_id}
    if link.base.get("state") is not None:
        # The Go server's upsert decodes a missing state as the default: send it as seen.
        body["state"] = link.base["state"]
    fetched = p.remote.attach_artifact(version_id, body)
    if op.fields:
        with p.store.db.write() as conn:
            link = p.ledger.set_link(conn, op.uid, op.table, fetched.entity,
                                     fetched.etag, pin=False)
        return update(p, op, local, link, remote_now=fetched)
    commit(p, op, local, fetched, to_local=None, conflicts={}, link=link)
    return UPDATED


# -- create -------------------------------------------------------------------------------


def lookup(p: Pusher, entity: BaseResource, parent_id: str | None) -> Fetched | None:
    if isinstance(entity, RegisteredModel):
        return p.remote.find_model(entity.name)
    if isinstance(entity, ServingEnvironment):
        return p.remote.find_serving_environment(entity.name)
    if isinstance(entity, ModelVersion):
        assert parent_id is not None
        return p.remote.find_version(entity.name, parent_id)
    assert isinstance(entity, Artifact) and entity.name
    if parent_id is None:
        return None  # an artifact of no version has no natural key to look up
    return p.remote.find_artifact(entity.name, parent_id, entity.kind)


def create(p: Pusher, op: Op, local: Local, parent_id: str | None, attempted: bool,
           sends: list[dict[str, Any]]) -> Outcome | Rejected:
    entity = local.entity
    if attempted:
        found = lookup(p, entity, parent_id)
        if found is not None:
            return _adopt_or_conflict(p, op, local, found, sends)
    if not p.keep_marks(op.uid):  # not marked by the window: mark it before the POST
        sent = snapshot(p.ctx.outgoing(entity))
        p.ledger.mark_attempted(op.uid, sent)
        sends = [*sends, sent]
        with p.store.db.read() as conn:
            gone = p.store.load(conn, op.table, op.uid) is None
        if gone:  # deleted locally before the marker (a delete after it is refused)
            with p.store.db.write() as conn:
                p.ledger.unmark_attempted(conn, [op.uid])
            return NOOP
    try:
        created = p.remote.post(replace(p.ctx.outgoing(entity), id=None),
                                parent_id=parent_id)
    except RemoteConflictError as exc:
        found = lookup(p, entity, parent_id)
        if found is None:
            message = f"{op.label}: {exc.message}"
            p.ledger.set_aside(op.uid, message, refused=True)
            return Rejected(message)
        return _adopt_or_conflict(p, op, local, found, sends)
    p.defer_ack(op, created.entity, created.etag)
    p.note_rewrite(op, local)
    return CREATED


def _adopt_or_conflict(p: Pusher, op: Op, local: Local, found: Fetched,
                       sends: Sequence[dict[str, Any]] = ()) -> Outcome:
    mine, theirs = snapshot(p.ctx.outgoing(local.entity)), snapshot(found.entity)
    local, mine = adopt_defaults(p.store, local, mine, theirs)
    if mine == theirs:
        with p.store.db.write() as conn:
            p.ledger.set_link(conn, op.uid, op.table, found.entity, found.etag)
            p.ledger.ack(conn, op.uid, op.max_seq)
        return ADOPTED
    differing = sorted(n for n in set(mine) | set(theirs) if mine.get(n) != theirs.get(n))
    if any(_same_content(sent, theirs) for sent in sends):
        # Our own create landed and its reply was lost; the local changes made since then
        # go as an update over it.
        with p.store.db.write() as conn:
            link = p.ledger.set_link(conn, op.uid, op.table, found.entity, found.etag)
        op.fields = set(differing)
        update(p, op, local, link, remote_now=found)
        return ADOPTED
    policy = p.ctx.on_conflict
    with p.store.db.write() as conn:
        group = p.ledger.add_conflict(
            conn, local=local, kind="create-different", fields_=differing, base={},
            mine=mine, theirs=theirs, remote_id=str(found.entity.id),
            message=f"{op.label} already exists on the remote with different content",
            resolution=policy_resolution(policy))
        if policy != "manual":
            link = p.ledger.set_link(conn, op.uid, op.table, found.entity, found.etag)
        if policy == "theirs":
            p.store.write_entity(conn, local, apply_snapshot(
                local.entity, p.ctx.localize(theirs, local.entity)))
            p.ledger.ack(conn, op.uid, op.max_seq)
            return CONFLICT
    if policy == "manual":
        # The rest of the registration (its versions, their artifacts) is compared now,
        # so that one resolve settles the whole clash.
        group_children(p, local, str(found.entity.id), group)
        return CONFLICT
    # policy ours: push the local values over the adopted entity right away.
    op.fields = set(differing)
    update(p, op, local, link, remote_now=found)
    return CONFLICT
