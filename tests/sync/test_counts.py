"""Request budgets, counted at the fault proxy (the real traffic).

Budgets are per operation; a run against a remote this database already knows adds one
identity probe, ``GET /registered_models/{anchor}`` (docs/sync.md, "Remote identity")."""

from __future__ import annotations

import pytest

from localhub.types import ModelVersion, RegisteredModel

from tests.support.sync_env import Env

PROBE = ("GET", "/registered_models/1")


def _api(log: list[tuple[str, str, object]]) -> list[tuple[str, str]]:
    return [(m, p.split("?")[0].replace("/api/model_registry/v1", ""))
            for m, p, _s in log if not p.startswith("/readyz")]


def test_new_model_version_artifact_costs_3(env: Env) -> None:
    env.store("a").register_model("m", "s3://m/1", version="v1")
    env.proxy.reset()
    report = env.sync("a", pull=False)
    assert report.created == 3 and not report.identity_checked  # first contact: no probe
    assert _api(env.proxy.log()) == [
        ("POST", "/registered_models"), ("POST", "/model_versions"),
        ("POST", "/model_versions/2/artifacts")]
    assert report.requests == 3


def test_new_version_of_linked_model_costs_2(env: Env) -> None:
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1")
    env.sync("a")
    a.register_model("m", "s3://m/2", version="v2")
    env.proxy.reset()
    report = env.sync("a", pull=False)
    log = _api(env.proxy.log())
    assert report.created == 2 and log[0] == PROBE and len(log[1:]) == 2
    assert report.identity_checked and report.requests == 3


@pytest.mark.own_server  # counts our ETag path
def test_update_costs_1_with_etag_and_2_without(env: Env) -> None:
    """Once the remote refused a stale If-Match (probed on the first update), an update costs
    one conditional PATCH; without ETags, GET + PATCH."""
    a = env.store("a")
    rm, mv, _ = a.register_model("m", "s3://m/1", version="v1")
    env.sync("a")
    rm = a.get(RegisteredModel, rm.id)
    rm.description = "probe"
    a.update(rm)
    env.proxy.reset()
    report = env.sync("a", pull=False)
    assert report.updated == 1
    assert _api(env.proxy.log()) == [PROBE, ("GET", "/registered_models/1"),
                                     ("PATCH", "/registered_models/1"),
                                     ("PATCH", "/registered_models/1")]
    rm = a.get(RegisteredModel, rm.id)
    rm.description = "with etag"
    a.update(rm)
    env.proxy.reset()
    report = env.sync("a", pull=False)
    assert report.updated == 1
    assert _api(env.proxy.log()) == [PROBE, ("PATCH", "/registered_models/1")]

    mv = a.get(ModelVersion, mv.id)
    mv.description = "without etag"
    a.update(mv)
    env.proxy.reset()
    report = env.sync("a", pull=False, use_etags=False)
    assert report.updated == 1
    assert _api(env.proxy.log()) == [PROBE, ("GET", "/model_versions/2"),
                                     ("PATCH", "/model_versions/2")]
    remote = env.remote()
    assert remote.fetch(ModelVersion, "2").entity.description == "without etag"
    assert remote.fetch(RegisteredModel, "1").entity.description == "with etag"


def test_incremental_pull_without_change_costs_one_request_per_kind(env: Env) -> None:
    env.store("a").register_model("m", "s3://m/1", version="v1")
    env.sync("a")
    env.sync("b")
    env.proxy.reset()
    report = env.sync("b")
    assert report.pulled == 0
    assert _api(env.proxy.log()) == [PROBE, ("GET", "/registered_models"),
                                     ("GET", "/model_versions"), ("GET", "/artifacts"),
                                     ("GET", "/serving_environments")]
