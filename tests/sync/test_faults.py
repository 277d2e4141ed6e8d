"""Faults between the engine and the server: lost acknowledgements, refusals, 5xx/429."""

from __future__ import annotations

import pytest

from localhub.store import SQLiteStore
from localhub.types import Artifact, ModelVersion, RegisteredModel

from tests.support.sync_env import Env


def _remote_counts(env: Env) -> tuple[int, int, int]:
    remote = SQLiteStore(env.server.db)
    try:
        return (len(remote.list_page(RegisteredModel).items),
                len(remote.list_page(ModelVersion).items),
                len(remote.list_page(Artifact).items))
    finally:
        remote.close()


@pytest.mark.parametrize("nth", [1, 2, 3])
def test_lost_ack_on_create_then_rerun_adopts(env: Env, nth: int) -> None:
    """The server applies the nth POST but the reply never arrives; the rerun adopts it."""
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1", metadata={"k": 1})
    env.proxy.rules({"match": "POST", "nth": nth, "action": "drop"})
    first = env.sync("a", pull=False, max_attempts=1)
    assert first.stopped is not None and first.remaining == 3 - (nth - 1)
    second = env.sync("a")
    assert second.stopped is None and second.remaining == 0
    assert (second.created, second.adopted, second.conflicts) == (3 - nth, 1, 0)
    assert _remote_counts(env) == (1, 1, 1)
    assert a.pending() == []


def test_lost_ack_with_retries_in_the_same_run(env: Env) -> None:
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1")
    env.proxy.rules({"match": "POST", "nth": 2, "action": "drop"})
    report = env.sync("a", pull=False)
    assert (report.created, report.adopted, report.remaining) == (2, 1, 0)
    assert _remote_counts(env) == (1, 1, 1)


def test_lost_ack_on_update_is_harmless(env: Env) -> None:
    a = env.store("a")
    rm, _, _ = a.register_model("m", "s3://m/1", version="v1")
    env.sync("a")
    rm = a.get(RegisteredModel, rm.id)
    rm.description = "new"
    rm.custom_properties = {"x": "1"}
    a.update(rm)
    env.proxy.rules({"match": "PATCH", "nth": 1, "action": "drop"})
    report = env.sync("a", pull=False)
    assert report.remaining == 0 and report.conflicts == 0
    fetched = env.remote().fetch(RegisteredModel, "1").entity
    assert fetched.description == "new" and fetched.custom_properties == {"x": "1"}


def test_503_and_429_retry_after_are_honoured(env: Env) -> None:
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1")
    env.proxy.rules({"match": "POST", "nth": 1, "action": "status", "status": 503},
                    {"match": "POST", "nth": 3, "action": "status", "status": 429,
                     "retry_after": "7"})
    sleeps: list[float] = []
    report = env.sync("a", pull=False, sleep=sleeps.append)
    assert report.created == 3 and report.remaining == 0
    assert len(sleeps) == 2 and sleeps[1] >= 7
    assert _remote_counts(env) == (1, 1, 1)


def test_unreachable_keeps_queue(env: Env, tmp_path: object) -> None:
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1")
    from localhub.rest_client import RemoteRegistry
    from localhub.sync import SyncEngine

    from tests.support.processes import free_port

    dead = RemoteRegistry(f"http://127.0.0.1:{free_port()}")
    sleeps: list[float] = []
    report = SyncEngine(a, dead, sleep=sleeps.append, max_attempts=3).run()
    assert report.stopped and "not answering" in report.stopped
    assert report.remaining == 3 and len(a.pending()) == 3
    assert len(sleeps) == 2 and 0 < sleeps[0] <= sleeps[1] * 2


def test_rejected_op_is_set_aside_and_others_continue(env: Env) -> None:
    """A 400/422 sets that op and its children aside; unrelated models still go."""
    a = env.store("a")
    a.register_model("bad", "s3://bad/1", version="v1")
    a.register_model("good", "s3://good/1", version="v1")
    env.proxy.rules({"match": "POST /api/model_registry/v1/registered_models", "nth": 1,
                     "action": "status", "status": 422})
    report = env.sync("a", pull=False)
    assert report.created == 3 and report.set_aside == 3
    assert any("injected 422" in e for e in report.errors)
    assert _remote_counts(env) == (1, 1, 1)
    assert report.remaining == 3
    # The next run tries again (the rejection was transient here) and finishes.
    report = env.sync("a", pull=False)
    assert report.created == 3 and report.remaining == 0
    assert _remote_counts(env) == (2, 2, 2)


def test_auth_error_stops_with_advice(env: Env) -> None:
    from localhub.errors import RemoteAuthError

    env.store("a").register_model("m", "s3://m/1", version="v1")
    env.proxy.rules({"match": "POST", "nth": 1, "action": "status", "status": 401})
    with pytest.raises(RemoteAuthError, match="token"):
        env.sync("a")
    assert len(env.store("a").pending()) == 3
