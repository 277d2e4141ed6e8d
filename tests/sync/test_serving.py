"""Serving environments sync like models: create / adopt / update / pull / conflicts."""

from __future__ import annotations

from localhub.sync import list_conflicts, resolve
from localhub.types import ServingEnvironment

from tests.support.sync_env import Env


def _env(store, name):  # type: ignore[no-untyped-def]
    return store.find(ServingEnvironment, name=name)


def test_serving_environment_push_pull_update(env: Env) -> None:
    a, b = env.store("a"), env.store("b")
    a.create(ServingEnvironment(name="prod", description="cluster 1",
                                custom_properties={"region": "eu"}))
    plan = env.sync("a", dry_run=True)
    assert [(i["kind"], i["op"], i["requests"]) for i in plan.plan] == [
        ("serving-environment", "create",
         ["POST /api/model_registry/v1/serving_environments"])]
    report = env.sync("a")
    assert (report.created, report.remaining) == (1, 0)
    remote = env.remote()
    found = remote.find_serving_environment("prod")
    assert found is not None and found.entity.custom_properties == {"region": "eu"}
    assert env.sync("b").pulled == 1
    got = _env(b, "prod")
    assert (got.description, got.custom_properties) == ("cluster 1", {"region": "eu"})
    # B edits, A pulls; a remote edit of another field merges both ways.
    got.description = "cluster 2"
    b.update(got)
    remote.patch(ServingEnvironment, str(found.entity.id),
                 {"customProperties": {"region": {"metadataType": "MetadataStringValue",
                                                  "string_value": "us"}}})
    remote.close()
    report = env.sync("b", use_etags=False)
    assert (report.updated, report.conflicts) == (1, 0)
    assert env.sync("a").pulled == 1
    for store in (a, b):
        got = _env(store, "prod")
        assert (got.description, got.custom_properties) == ("cluster 2", {"region": "us"})


def test_serving_environment_adopt_and_conflict(env: Env) -> None:
    a, b = env.store("a"), env.store("b")
    a.create(ServingEnvironment(name="same", description="x"))
    b.create(ServingEnvironment(name="same", description="x"))
    a.create(ServingEnvironment(name="clash", description="a"))
    b.create(ServingEnvironment(name="clash", description="b"))
    assert env.sync("a").created == 2
    report = env.sync("b")
    # "same" exists remotely with equal content: a 409, looked up, adopted; "clash" differs.
    assert (report.adopted, report.conflicts) == (1, 1)
    (c,) = list_conflicts(b)
    assert (c.kind, c.fields) == ("create-different", ("description",))
    resolve(b, c.id, "theirs")
    env.sync("b")
    assert _env(b, "clash").description == "a"
    assert b.pending() == [] and list_conflicts(b) == []
