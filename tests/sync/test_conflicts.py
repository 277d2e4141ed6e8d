"""The conflict matrix: each scenario with its exact outcome on both sides."""

from __future__ import annotations

from typing import Any

import pytest

from localhub.store import SQLiteStore
from localhub.sync import list_conflicts, resolve
from localhub.types import ModelArtifact, ModelVersion, RegisteredModel

from tests.support.sync_env import Env

S = "MetadataStringValue"


def _setup(env: Env, **kw: Any) -> tuple[SQLiteStore, str, str]:
    a = env.store("a")
    rm, mv, _ = a.register_model("m", "s3://m/1", version="v1", owner="o0",
                                 metadata={"k": "0"}, **kw)
    report = env.sync("a")
    assert report.created == 3
    return a, str(rm.id), str(mv.id)


def _edit_local(store: SQLiteStore, cls: Any, entity_id: str, **changes: Any) -> None:
    entity = store.get(cls, entity_id)
    for key, value in changes.items():
        setattr(entity, key, value)
    store.update(entity)


def _edit_remote(env: Env, cls: Any, remote_id: str, **changes: Any) -> None:
    remote = env.remote()
    current = remote.fetch(cls, remote_id).entity
    from localhub.sync.snapshot import update_body

    for key, value in changes.items():
        setattr(current, key, value)
    remote.patch(cls, remote_id, update_body(current, set(changes) | {"state"}))


def _remote(env: Env, cls: Any, remote_id: str) -> Any:
    return env.remote().fetch(cls, remote_id).entity


def test_same_field_both_sides_is_a_conflict(env: Env) -> None:
    a, rm_id, _ = _setup(env)
    _edit_local(a, RegisteredModel, rm_id, description="mine", owner="o-mine")
    _edit_remote(env, RegisteredModel, "1", description="theirs")
    report = env.sync("a")
    assert report.conflicts == 1 and report.remaining == 0
    (c,) = list_conflicts(a)
    assert (c.kind, c.fields) == ("update-update", ("description",))
    assert (c.base, c.local, c.remote_values) == ({"description": None},
                                                  {"description": "mine"},
                                                  {"description": "theirs"})
    remote = _remote(env, RegisteredModel, "1")
    assert (remote.description, remote.owner) == ("theirs", "o-mine")  # the rest went on
    local = a.get(RegisteredModel, rm_id)
    assert (local.description, local.owner) == ("mine", "o-mine")
    # A later unrelated edit does not smuggle the conflicting value out.
    _edit_local(a, RegisteredModel, rm_id, custom_properties={"z": "1"})
    env.sync("a")
    assert _remote(env, RegisteredModel, "1").description == "theirs"
    assert _remote(env, RegisteredModel, "1").custom_properties == {"z": "1"}


def test_different_fields_merge_both_ways(env: Env) -> None:
    a, rm_id, _ = _setup(env)
    _edit_local(a, RegisteredModel, rm_id, description="mine")
    _edit_remote(env, RegisteredModel, "1", owner="o-theirs")
    report = env.sync("a")
    assert report.conflicts == 0 and report.updated == 1
    remote = _remote(env, RegisteredModel, "1")
    local = a.get(RegisteredModel, rm_id)
    assert (remote.description, remote.owner) == ("mine", "o-theirs")
    assert (local.description, local.owner) == ("mine", "o-theirs")
    assert a.pending() == []


def test_different_property_keys_are_both_kept(env: Env) -> None:
    a, _, mv_id = _setup(env)
    _edit_local(a, ModelVersion, mv_id, custom_properties={"k": "0", "mine": 1})
    _edit_remote(env, ModelVersion, "2", custom_properties={"k": "0", "theirs": 2.5})
    report = env.sync("a")
    assert report.conflicts == 0
    expected = {"k": "0", "mine": 1, "theirs": 2.5}
    assert _remote(env, ModelVersion, "2").custom_properties == expected
    assert a.get(ModelVersion, mv_id).custom_properties == expected


def test_same_property_key_is_a_conflict_other_keys_merge(env: Env) -> None:
    a, _, mv_id = _setup(env)
    _edit_local(a, ModelVersion, mv_id, custom_properties={"k": "mine", "extra": True})
    _edit_remote(env, ModelVersion, "2", custom_properties={"k": "theirs"})
    report = env.sync("a")
    assert report.conflicts == 1
    (c,) = list_conflicts(a)
    assert c.fields == ("custom_properties.k",)
    assert c.local["custom_properties.k"]["string_value"] == "mine"
    assert c.remote_values["custom_properties.k"]["string_value"] == "theirs"
    assert _remote(env, ModelVersion, "2").custom_properties == {"k": "theirs", "extra": True}
    assert a.get(ModelVersion, mv_id).custom_properties == {"k": "mine", "extra": True}


def test_archive_vs_edit(env: Env) -> None:
    a, _, mv_id = _setup(env)
    _edit_local(a, ModelVersion, mv_id, description="edited offline")
    _edit_remote(env, ModelVersion, "2", state="ARCHIVED")
    report = env.sync("a")
    assert report.conflicts == 1
    (c,) = list_conflicts(a)
    assert (c.kind, c.fields) == ("archived-vs-edit", ("description",))
    remote = _remote(env, ModelVersion, "2")
    assert (remote.state.value, remote.description) == ("ARCHIVED", None)
    local = a.get(ModelVersion, mv_id)
    assert (local.state.value, local.description) == ("ARCHIVED", "edited offline")
    # ours: the edit goes to the archived version; it stays archived.
    resolve(a, c.id, "ours")
    env.sync("a")
    remote = _remote(env, ModelVersion, "2")
    assert (remote.state.value, remote.description) == ("ARCHIVED", "edited offline")


def test_version_taken_with_equal_content_is_adopted(env: Env) -> None:
    env.store("a").register_model("m", "s3://m/1", version="v1", author="x")
    env.store("b").register_model("m", "s3://m/1", version="v1", author="x")
    env.sync("a", pull=False)
    report = env.sync("b", pull=False)
    assert (report.created, report.adopted, report.conflicts, report.remaining) == (0, 3, 0, 0)
    report = env.sync("b")
    assert report.pulled == 0


def test_version_taken_with_different_content_is_a_conflict(env: Env) -> None:
    env.store("a").register_model("m", "s3://m/1", version="v1", author="x")
    b = env.store("b")
    b.register_model("m", "s3://other/1", version="v1", author="y")
    env.sync("a", pull=False)
    report = env.sync("b", pull=False)
    assert (report.adopted, report.conflicts) == (1, 1)  # the model is equal, the version not
    # The artifact differs too (uri): listed in the same run, beside its version's conflict.
    c, c2 = list_conflicts(b)
    assert (c.kind, c.fields) == ("create-different", ("author",))
    assert (c2.kind, c2.fields) == ("create-different", ("uri",))
    assert report.remaining == 2  # the version and, blocked behind it, its artifact
    resolve(b, c2.id, "ours")  # a child resolved first keeps its own choice
    resolve(b, c.id, "theirs")
    report = env.sync("b")
    assert (report.conflicts, report.remaining) == (0, 0)
    remote = SQLiteStore(env.server.db)
    try:
        assert len(remote.list_page(ModelVersion).items) == 1

        (art,) = remote.list_page(ModelArtifact).items
        assert art.uri == "s3://other/1"
        assert remote.list_page(ModelVersion).items[0].author == "x"
    finally:
        remote.close()


def test_remote_entity_gone(env: Env) -> None:
    # The version (remote id 2) disappears; the model (id 1, the remote's identity anchor)
    # stays: a vanished anchor is a re-created server (test_identity.py).
    a, _, mv_id = _setup(env)
    _edit_local(a, ModelVersion, mv_id, description="mine")
    env.server.alter("UPDATE contexts SET id = 99 WHERE id = 2")  # the remote id 2 disappears
    report = env.sync("a", pull=False)
    assert report.conflicts == 1 and report.remaining == 1
    (c,) = list_conflicts(a)
    assert (c.kind, c.remote_id) == ("remote-missing", "2")
    assert a.pending()  # nothing lost


def test_pull_over_pending_edits(env: Env) -> None:
    a, rm_id, _ = _setup(env)
    b = env.store("b")
    env.sync("b")
    b_rm = b.find(RegisteredModel, name="m")
    _edit_local(b, RegisteredModel, b_rm.id, description="b-desc", owner="b-owner")
    _edit_local(a, RegisteredModel, rm_id, owner="a-owner", custom_properties={"a": "1"})
    env.sync("a")
    report = env.sync("b", push=False)  # pull only, over B's pending edits
    assert report.conflicts == 1
    (c,) = list_conflicts(b)
    assert c.fields == ("owner",)
    local = b.get(RegisteredModel, b_rm.id)
    assert (local.description, local.owner, local.custom_properties) == (
        "b-desc", "b-owner", {"a": "1"})
    assert b.pending()  # still queued
    env.sync("b")
    remote = _remote(env, RegisteredModel, "1")
    assert (remote.description, remote.owner, remote.custom_properties) == (
        "b-desc", "a-owner", {"a": "1"})  # the conflicting field was not written


@pytest.mark.parametrize("choice,expected", [("ours", "mine"), ("theirs", "theirs"),
                                             ("value", "chosen")])
def test_resolution(env: Env, choice: str, expected: str) -> None:
    a, rm_id, _ = _setup(env)
    _edit_local(a, RegisteredModel, rm_id, description="mine")
    _edit_remote(env, RegisteredModel, "1", description="theirs")
    env.sync("a")
    (c,) = list_conflicts(a)
    done = resolve(a, c.id, choice, "chosen" if choice == "value" else None)
    assert done.resolution == choice and not done.open
    report = env.sync("a")
    assert report.conflicts == 0 and report.remaining == 0
    assert _remote(env, RegisteredModel, "1").description == expected
    assert a.get(RegisteredModel, rm_id).description == expected
    assert list_conflicts(a) == []
    assert [x.resolution for x in list_conflicts(a, include_resolved=True)] == [choice]


@pytest.mark.parametrize("policy,expected", [("ours", "mine"), ("theirs", "theirs")])
def test_policy(env: Env, policy: str, expected: str) -> None:
    a, rm_id, _ = _setup(env)
    _edit_local(a, RegisteredModel, rm_id, description="mine")
    _edit_remote(env, RegisteredModel, "1", description="theirs")
    report = env.sync("a", on_conflict=policy)
    assert report.conflicts == 1 and report.open_conflicts == []
    assert _remote(env, RegisteredModel, "1").description == expected
    assert a.get(RegisteredModel, rm_id).description == expected
    (c,) = list_conflicts(a, include_resolved=True)
    assert c.resolution == f"policy:{policy}" and c.local == {"description": "mine"}
