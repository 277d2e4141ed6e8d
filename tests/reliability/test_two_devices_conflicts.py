"""Two devices syncing with one remote: nothing the remote holds is lost and no difference
stays unlisted.

A pull skips a remote entity whose natural key is held by a local entity not linked yet (a
pending create, or one in a ``create-different`` conflict) and every entity below a parent
that is not linked; it must not move its watermark past them, so that once the link is made
(the push adopting the entity, or the conflict resolved) they and the remote changes made
meanwhile are pulled. Resolving a conflict leaves both sides equal, or lists a new conflict.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, list_conflicts, resolve
from localhub.types import ModelVersion, RegisteredModel

from tests.soak._soak import Stack


@pytest.fixture
def stack() -> Iterator[Stack]:
    with Stack() as s:
        yield s


def _sync(stack: Stack, store: SQLiteStore, *, push: bool = True, pull: bool = True,
          models: list[str] | None = None) -> None:
    with SyncEngine(store, stack.url, sleep=lambda _s: None, models=models) as engine:
        report = engine.run(push=push, pull=pull)
    assert report.stopped is None and report.set_aside == 0, report


def _versions(store: SQLiteStore, model: str) -> dict[str, list[str | None]]:
    rm = store.find(RegisteredModel, name=model)
    assert rm is not None
    return {str(mv.name): [a.uri for a in store.version_artifacts(str(mv.id))]  # type: ignore[attr-defined]
            for mv in store.list_page(ModelVersion, parent_id=rm.id).items}


@pytest.mark.parametrize("models", [None, ["m"]], ids=["all", "limited"])
def test_versions_skipped_under_a_create_different_model_arrive_after_resolve(
        stack: Stack, models: list[str] | None) -> None:
    """Remote versions of a model in a create-different conflict arrive once it is resolved."""
    a, b = stack.store("a"), stack.store("b")
    a.register_model("m", "s3://m/1", version="v1", owner="ann")
    b.register_model("m", "s3://m/1", version="v1", owner="bob")
    _sync(stack, a)
    _sync(stack, b, models=models)  # model m: create-different (owner), B's m stays unlinked
    a.register_model("m", "s3://m/2", version="v2")
    _sync(stack, a)
    _sync(stack, b, models=models)  # the pull skips A's v1 and v2: m is not linked here
    [conflict] = list_conflicts(b)
    assert conflict.kind == "create-different"
    resolve(b, conflict.id, "theirs")
    _sync(stack, b, models=models)
    _sync(stack, b, models=models)
    assert list_conflicts(b) == []
    assert _versions(b, "m") == {"v1": ["s3://m/1"], "v2": ["s3://m/2"]}
    for store in (a, b):
        store.close()


def test_remote_change_made_while_create_different_was_open_is_pulled(stack: Stack) -> None:
    """A remote change made while a create-different conflict was open is pulled after resolve."""
    a, b = stack.store("a"), stack.store("b")
    a.register_model("m", "s3://m/a", version="v1")
    b.register_model("m", "s3://m/b", version="v1")
    _sync(stack, a)
    _sync(stack, b)  # artifact m:v1/m: create-different (uri)
    rm = a.find(RegisteredModel, name="m")
    assert rm is not None
    mv = a.find(ModelVersion, name="v1", parent_id=rm.id)
    assert mv is not None
    [art] = a.version_artifacts(str(mv.id))
    art.description = "changed after the conflict"
    a.update(art)
    _sync(stack, a)
    _sync(stack, b)  # the pull skips the artifact: its name is held by B's unlinked one
    [conflict] = list_conflicts(b)
    resolve(b, conflict.id, "theirs")
    _sync(stack, b)
    rm = b.find(RegisteredModel, name="m")
    assert rm is not None
    mv = b.find(ModelVersion, name="v1", parent_id=rm.id)
    assert mv is not None
    [mine] = b.version_artifacts(str(mv.id))
    assert (mine.uri, mine.description) == ("s3://m/a", "changed after the conflict")  # type: ignore[attr-defined]
    for store in (a, b):
        store.close()


def test_pull_only_before_adoption_does_not_lose_remote_versions(stack: Stack) -> None:
    """A pull-only run before the push adopts a model does not lose its remote versions."""
    a, b = stack.store("a"), stack.store("b")
    a.register_model("m", "s3://m/1", version="v1")
    a.register_model("m", "s3://m/2", version="v2")
    _sync(stack, a)
    b.register_model("m", "s3://m/1", version="v1")  # the same content, offline
    _sync(stack, b, push=False)  # skips m (a pending create here) and everything below it
    _sync(stack, b)  # the push adopts m, v1 and its artifact
    _sync(stack, b)
    assert _versions(b, "m") == {"v1": ["s3://m/1"], "v2": ["s3://m/2"]}
    for store in (a, b):
        store.close()


def _conflicting_description(stack: Stack) -> tuple[SQLiteStore, SQLiteStore, ModelVersion]:
    """A and B both change v1's description; B's sync lists the conflict; then A changes it
    again and B pulls that (the field stays frozen in B, its conflict still shows "a1")."""
    a, b = stack.store("a"), stack.store("b")
    a.register_model("m", "s3://m/1", version="v1")
    _sync(stack, a)
    _sync(stack, b)
    for store, value in ((a, "a1"), (b, "b1")):
        mv = store.find_version("m", "v1")[1]
        assert mv is not None
        mv.description = value
        store.update(mv)
    _sync(stack, a)
    _sync(stack, b)
    [conflict] = list_conflicts(b)
    assert conflict.remote_values == {"description": "a1"}
    mv = a.find_version("m", "v1")[1]
    assert mv is not None
    mv.description = "a2"
    a.update(mv)
    _sync(stack, a)
    _sync(stack, b)
    remote = SQLiteStore(stack.remote_db)
    try:
        theirs = remote.find_version("m", "v1")[1]
    finally:
        remote.close()
    assert theirs is not None and theirs.description == "a2"
    return a, b, theirs


def test_resolve_theirs_takes_the_remote_value_seen_last(stack: Stack) -> None:
    """`resolve theirs` takes the remote's latest value, not the one listed in the conflict."""
    a, b, _ = _conflicting_description(stack)
    [conflict] = list_conflicts(b)
    resolve(b, conflict.id, "theirs")
    _sync(stack, b)
    mv = b.find_version("m", "v1")[1]
    assert mv is not None and mv.description == "a2"
    assert list_conflicts(b) == []
    for store in (a, b):
        store.close()


def test_resolve_ours_does_not_overwrite_a_remote_value_nobody_was_shown(
        stack: Stack) -> None:
    """`resolve ours` never overwrites a remote value changed since the conflict was listed: a
    new conflict shows that value instead."""
    a, b, _ = _conflicting_description(stack)
    [conflict] = list_conflicts(b)
    resolve(b, conflict.id, "ours")
    _sync(stack, b)
    remote = SQLiteStore(stack.remote_db)
    try:
        theirs = remote.find_version("m", "v1")[1]
    finally:
        remote.close()
    assert theirs is not None and theirs.description == "a2"
    [again] = list_conflicts(b)
    assert (again.base, again.local, again.remote_values) == (
        {"description": "a1"}, {"description": "b1"}, {"description": "a2"})
    resolve(b, again.id, "ours")
    _sync(stack, b)
    remote = SQLiteStore(stack.remote_db)
    try:
        theirs = remote.find_version("m", "v1")[1]
    finally:
        remote.close()
    assert theirs is not None and theirs.description == "b1"
    for store in (a, b):
        store.close()


def test_resolve_ours_of_create_different_where_ours_has_no_value(stack: Stack) -> None:
    """`resolve ours` of a create-different takes from the remote what a PATCH cannot unset (a
    field ours has no value for), so both sides end equal."""
    a, b = stack.store("a"), stack.store("b")
    a.register_model("m", "s3://m/a", version="v1")
    b.register_model("m", "s3://m/b", version="v1")
    _sync(stack, a)
    mv = a.find_version("m", "v1")[1]
    assert mv is not None
    [art] = a.version_artifacts(str(mv.id))
    art.description = "described on the remote"
    a.update(art)
    _sync(stack, a)
    _sync(stack, b)
    [conflict] = list_conflicts(b)
    assert conflict.kind == "create-different"
    assert set(conflict.fields) == {"description", "uri"}
    resolve(b, conflict.id, "ours")
    _sync(stack, b)
    _sync(stack, a)
    assert list_conflicts(b) == []
    for store in (a, b):
        mv = store.find_version("m", "v1")[1]
        assert mv is not None
        [art] = store.version_artifacts(str(mv.id))
        assert (art.uri, art.description) == ("s3://m/b", "described on the remote")  # type: ignore[attr-defined]
    for store in (a, b):
        store.close()
