"""Conflicts in words (issue #14 item 7): each kind's sentence, built from its kind, entity
label and fields, as ``conflict_data`` gives it to the CLI, ``--json`` and the web."""

from __future__ import annotations

import re
from typing import Any

from localhub.conflict_view import conflict_data
from localhub.store import SQLiteStore
from localhub.sync import list_conflicts, resolve
from localhub.sync.snapshot import update_body
from localhub.types import ModelVersion

from tests.support.sync_env import Env


def _summaries(store: SQLiteStore) -> list[str]:
    return [conflict_data(store, c)["summary"] for c in list_conflicts(store)]


def _registered(env: Env) -> tuple[SQLiteStore, str]:
    """Store ``a`` with model m, version v1 (auc 0.5) and its artifact, synced; the version's
    local id."""
    a = env.store("a")
    _rm, mv, _art = a.register_model("m", "s3://m/1", version="v1", metadata={"auc": 0.5})
    assert env.sync("a").created == 3
    return a, str(mv.id)


def _edit(store: SQLiteStore, mv_id: str, **changes: Any) -> None:
    version = store.get(ModelVersion, mv_id)
    for key, value in changes.items():
        setattr(version, key, value)
    store.update(version)


def _edit_remote(env: Env, **changes: Any) -> None:
    """Another user's edit of the remote version (id 2)."""
    remote = env.remote()
    try:
        current = remote.fetch(ModelVersion, "2").entity
        for key, value in changes.items():
            setattr(current, key, value)
        remote.patch(ModelVersion, "2", update_body(current, set(changes) | {"state"}))
    finally:
        remote.close()


def test_update_update_names_the_fields_by_key(env: Env) -> None:
    """Two fields changed on both sides: one sentence naming both, a property by its key."""
    a, mv_id = _registered(env)
    _edit(a, mv_id, description="mine", custom_properties={"auc": 0.9})
    _edit_remote(env, description="theirs", custom_properties={"auc": 0.8})
    assert env.sync("a").conflicts == 1
    assert _summaries(a) == ["version m:v1: you changed auc and description; the remote "
                             "changed them too since the last sync"]


def test_update_update_of_a_removed_property(env: Env) -> None:
    """A property removed here and changed there reads as removed."""
    a, mv_id = _registered(env)
    _edit(a, mv_id, custom_properties={})
    _edit_remote(env, custom_properties={"auc": 0.8})
    assert env.sync("a").conflicts == 1
    assert _summaries(a) == ["version m:v1: you removed auc; the remote changed it too since "
                             "the last sync"]


def test_changed_again_before_the_resolve(env: Env) -> None:
    """A field the remote moved again before ``ours`` gets a new conflict saying so."""
    a, mv_id = _registered(env)
    _edit(a, mv_id, description="mine")
    _edit_remote(env, description="theirs")
    assert env.sync("a").conflicts == 1
    (first,) = list_conflicts(a)
    _edit_remote(env, description="theirs again")
    env.sync("a", push=False)
    resolve(a, first.id, "ours")
    assert _summaries(a) == [f"version m:v1: the remote changed description again after "
                             f"conflict #{first.id} was listed; your decision there waits for "
                             "this one"]


def test_archived_vs_edit(env: Env) -> None:
    """The remote archived the version while it was edited here."""
    a, mv_id = _registered(env)
    _edit(a, mv_id, description="edited offline")
    _edit_remote(env, state="ARCHIVED")
    assert env.sync("a").conflicts == 1
    assert _summaries(a) == ["the remote archived version m:v1 while you edited its "
                             "description"]


def test_create_different_model_and_its_children(env: Env) -> None:
    """A name registered by someone else: the model's sentence, then its children's, which
    say that resolving the model settles them."""
    env.store("a").register_model("m", "s3://m/1", version="v1", owner="ann", author="x")
    env.sync("a", pull=False)
    b = env.store("b")
    b.register_model("m", "s3://other/1", version="v1", owner="bob", author="y")
    assert env.sync("b", pull=False).conflicts >= 1
    first, *rest = list_conflicts(b)
    summaries = _summaries(b)
    assert summaries[0] == ("the model name `m` was registered on the remote by someone "
                            "else with another owner")
    assert summaries[1:] == [
        "version m:v1 was registered on the remote by someone else with another author "
        f"(resolving #{first.id} settles it too)",
        "artifact m:v1/m was registered on the remote by someone else with another uri "
        f"(resolving #{first.id} settles it too)"]
    assert len(rest) == 2


def test_remote_missing(env: Env) -> None:
    """The linked remote entity vanished."""
    a, mv_id = _registered(env)
    _edit(a, mv_id, description="mine")
    env.server.alter("UPDATE contexts SET id = 99 WHERE id = 2")
    assert env.sync("a", pull=False).conflicts == 1
    assert _summaries(a) == ["version m:v1 was synced before, but the remote no longer has it "
                             "(id 2): deleted there, or another server"]


def test_remote_mismatch(env: Env) -> None:
    """The linked remote id holds a version of another name."""
    a, mv_id = _registered(env)
    _edit(a, mv_id, description="mine")
    env.server.alter("UPDATE contexts SET name = 'x' WHERE id = 2")
    assert env.sync("a", pull=False).conflicts == 1
    assert _summaries(a) == ["the linked remote id 2 of version m:v1 now holds another version "
                             "(`x`): a restored or reused server"]


def test_summary_in_every_view(env: Env) -> None:
    """The sentence is one key of the conflict's data, the same for open and resolved ones."""
    a, mv_id = _registered(env)
    _edit(a, mv_id, description="mine")
    _edit_remote(env, description="theirs")
    env.sync("a")
    (c,) = list_conflicts(a)
    before = conflict_data(a, c)["summary"]
    resolve(a, c.id, "theirs")
    (after,) = list_conflicts(a, include_resolved=True)
    assert conflict_data(a, after)["summary"] == before
    assert re.fullmatch(r"version m:v1: you changed description; .*", before)


def test_create_different_matching_another_entity(env: Env) -> None:
    """A match of another name (an upstream LIKE lookup) says that only ours applies."""
    from localhub.sync.ledger import Ledger
    from localhub.sync.snapshot import snapshot

    env.server.register("axb")
    a = env.store("a")
    env.sync("a")
    a.register_model("a_b", "s3://ab/1", version="v1")
    remote = env.remote()
    try:
        axb = remote.find_model("axb")
    finally:
        remote.close()
    assert axb is not None
    with a.db.write() as conn:
        uid = conn.execute("SELECT uid FROM contexts WHERE name = 'a_b'").fetchone()[0]
        local = a.load(conn, "contexts", uid)
        assert local is not None
        Ledger(a, env.proxy.url).add_conflict(
            conn, local=local, kind="create-different", fields_=["name"], base={},
            mine=snapshot(local.entity), theirs=snapshot(axb.entity),
            remote_id=str(axb.entity.id), message="model a_b already exists")
    assert _summaries(a) == [f"the remote's match for model a_b is another model (`axb`, id "
                             f"{axb.entity.id}): ours sends the local one under its own name"]
