"""Resolving a conflict field by field (issue #14 item 7): each field ours, theirs or a value,
against a real ``localhub serve``."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localhub.errors import InvalidInputError
from localhub.store import SQLiteStore
from localhub.sync import Value, list_conflicts, resolve_fields
from localhub.sync.snapshot import update_body
from localhub.types import ModelVersion

from tests.support.sync_env import Env

NAMES = itertools.count()
#: Per field: (ours, theirs, an explicit value).
SIDES: dict[str, tuple[Any, Any, Any]] = {
    "description": ("mine", "theirs", "agreed"), "auc": (0.9, 0.8, 7),
    "author": ("ann", "bob", "ours")}


def _conflict(env: Env) -> tuple[SQLiteStore, str, str]:
    """A fresh model whose version has a three-field conflict (description, auc, author);
    (the store, the version's local id, its remote id)."""
    a = env.store("a")
    name = f"m{next(NAMES)}"
    _rm, mv, _art = a.register_model(name, "s3://m/1", version="v1", author="base",
                                     metadata={"auc": 0.5})
    env.sync("a")
    remote = env.remote()
    try:
        model = remote.find_model(name)
        assert model is not None
        found = remote.find_version("v1", str(model.entity.id))
        assert found is not None
        theirs = found.entity
        theirs.description, theirs.author = SIDES["description"][1], SIDES["author"][1]
        theirs.custom_properties = {"auc": SIDES["auc"][1]}
        remote_id = str(theirs.id)
        remote.patch(ModelVersion, remote_id, update_body(
            theirs, {"description", "author", "custom_properties", "state"}))
    finally:
        remote.close()
    version = a.get(ModelVersion, mv.id)
    version.description, version.author = SIDES["description"][0], SIDES["author"][0]
    version.custom_properties = {"auc": SIDES["auc"][0]}
    a.update(version)
    assert env.sync("a").conflicts == 1
    return a, str(mv.id), remote_id


def _values(entity: Any) -> dict[str, Any]:
    return {"description": entity.description, "author": entity.author,
            "auc": (entity.custom_properties or {}).get("auc")}


def _remote_version(env: Env, remote_id: str) -> ModelVersion:
    remote = env.remote()
    try:
        entity = remote.fetch(ModelVersion, remote_id).entity
        assert isinstance(entity, ModelVersion)
        return entity
    finally:
        remote.close()


def test_description_ours_auc_theirs(env: Env) -> None:
    """description=ours, auc=theirs, author=a value: after a sync the remote has our
    description, keeps its auc and takes the value; locally auc is theirs."""
    a, mv_id, remote_id = _conflict(env)
    (c,) = list_conflicts(a)
    assert c.fields == ("author", "custom_properties.auc", "description")
    done = resolve_fields(a, c.id, {"description": "ours", "custom_properties.auc": "theirs",
                                    "author": Value("ours")})
    assert done.resolution == "fields:author=value,auc=theirs,description=ours"
    report = env.sync("a")
    assert report.conflicts == 0 and list_conflicts(a) == []
    expected = {"description": "mine", "auc": 0.8, "author": "ours"}
    assert _values(_remote_version(env, remote_id)) == expected
    assert _values(a.get(ModelVersion, mv_id)) == expected
    assert env.sync("a").updated == 0  # settled: nothing more to send


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.fixed_dictionaries({f: st.sampled_from(["ours", "theirs", "value"])
                                    for f in SIDES}))
def test_any_choice_combination(env: Env, picks: dict[str, str]) -> None:
    """Whatever each field's choice, after one sync both sides hold the chosen values."""
    a, mv_id, remote_id = _conflict(env)
    (c,) = [c for c in list_conflicts(a)]
    choices = {f: Value(SIDES[f][2]) if p == "value" else p for f, p in picks.items()}
    resolve_fields(a, c.id, choices)
    assert env.sync("a").conflicts == 0
    expected = {f: SIDES[f][{"ours": 0, "theirs": 1, "value": 2}[p]] for f, p in picks.items()}
    assert _values(_remote_version(env, remote_id)) == expected
    assert _values(a.get(ModelVersion, mv_id)) == expected


def test_a_field_moved_again_gets_a_new_conflict(env: Env) -> None:
    """A field taken as ours that the remote changed again since the listing is not pushed:
    it gets a new conflict with the current remote value; the other fields settle."""
    a, mv_id, remote_id = _conflict(env)
    (c,) = list_conflicts(a)
    theirs = _remote_version(env, remote_id)
    theirs.description = "theirs again"
    remote = env.remote()
    try:
        remote.patch(ModelVersion, remote_id, update_body(theirs, {"description", "state"}))
    finally:
        remote.close()
    env.sync("a", push=False)
    resolve_fields(a, c.id, {"description": "ours", "auc": "theirs", "author": "ours"})
    (again,) = list_conflicts(a)
    assert again.fields == ("description",)
    assert again.remote_values == {"description": "theirs again"}
    env.sync("a")
    assert _values(_remote_version(env, remote_id)) == {
        "description": "theirs again", "auc": 0.8, "author": "ann"}
    assert a.get(ModelVersion, mv_id).description == "mine"


def test_every_field_needs_a_choice(env: Env) -> None:
    """A missing or unknown field is refused, naming them; nothing changes."""
    a, _mv_id, _remote_id = _conflict(env)
    (c,) = list_conflicts(a)
    with pytest.raises(InvalidInputError, match="missing: auc, description"):
        resolve_fields(a, c.id, {"author": "ours"})
    with pytest.raises(InvalidInputError, match="has no field 'owner'"):
        resolve_fields(a, c.id, {"owner": "ours"})
    assert list_conflicts(a)[0].open


def test_kinds_without_fields_say_what_they_take(env: Env) -> None:
    """A remote-missing conflict has no fields to choose: it says it takes ours or theirs."""
    a = env.store("a")
    _rm, mv, _art = a.register_model("gone", "s3://m/1", version="v1")
    env.sync("a")
    version = a.get(ModelVersion, mv.id)
    version.description = "mine"
    a.update(version)
    env.server.alter("UPDATE contexts SET id = 99 WHERE id = 2")
    env.sync("a", pull=False)
    (c,) = list_conflicts(a)
    assert c.kind == "remote-missing"
    with pytest.raises(InvalidInputError, match="takes ours or theirs"):
        resolve_fields(a, c.id, {})
