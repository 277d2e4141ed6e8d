"""The options the CLI drives: models=, uri_map=, progress=, verify=, to_dict(), sync_status()."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from localhub import ModelRegistryClient
from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, sync_status
from localhub.types import Artifact, ModelArtifact, ModelVersion, RegisteredModel

from tests.support.sync_env import Env

REPORT_KEYS = {"remote", "created", "adopted", "updated", "pulled", "conflicts", "set_aside",
               "remaining", "requests", "dry_run", "stopped", "errors", "plan",
               "open_conflicts", "rewrites", "models", "identity_checked", "held"}
PLAN_KEYS = {"entity", "kind", "model", "op", "fields", "requests", "notes", "uri_rewrite"}
RULES = [("file:///data/models/", "s3://team-models/")]


def _remote_artifacts(env: Env) -> dict[str, str | None]:
    remote = env.remote()
    try:
        return {str(getattr(a, "name", "")): getattr(a, "uri", None)
                for a in remote.list_all(Artifact)}
    finally:
        remote.close()


def _art(store: SQLiteStore, name: str) -> ModelArtifact:
    (art,) = [a for a in store.list_page(ModelArtifact).items if a.name == name]
    return art


def test_report_and_plan_serialise_with_stable_keys(env: Env) -> None:
    a = env.store("a")
    a.register_model("m", "file:///data/models/m/1", version="v1")
    plan = env.sync("a", dry_run=True, uri_map=RULES)
    d = plan.to_dict()
    assert set(d) == REPORT_KEYS and d["dry_run"] is True
    assert [set(item) for item in d["plan"]] == [PLAN_KEYS] * 3
    assert [(i["kind"], i["model"], i["op"]) for i in d["plan"]] == [
        ("registered-model", "m", "create"), ("model-version", "m", "create"),
        ("model-artifact", "m", "create")]
    art = d["plan"][2]
    assert art["uri_rewrite"] == {"from": "file:///data/models/m/1",
                                  "to": "s3://team-models/m/1",
                                  "rule": ["file:///data/models/", "s3://team-models/"]}
    assert any("uri rewritten" in n for n in art["notes"])
    assert d["plan"][0]["uri_rewrite"] is None
    assert json.loads(plan.to_json()) == d
    assert env.proxy.log() == []  # a dry run sends nothing
    report = env.sync("a", uri_map=RULES)
    d = report.to_dict()
    assert set(d) == REPORT_KEYS and json.loads(json.dumps(d)) == d
    assert d["rewrites"] == [{"entity": "artifact m:v1/m", "from": "file:///data/models/m/1",
                              "to": "s3://team-models/m/1",
                              "rule": ["file:///data/models/", "s3://team-models/"]}]


def test_uri_rewrite_sends_rewritten_keeps_local_and_sees_no_false_change(env: Env) -> None:
    a = env.store("a")
    a.register_model("m", "file:///data/models/m/1", version="v1")
    a.register_model("other", "file:///elsewhere/x", version="v1")  # no rule matches
    report = env.sync("a", uri_map=RULES)
    assert report.created == 6 and report.remaining == 0
    assert _remote_artifacts(env) == {"m": "s3://team-models/m/1", "other": "file:///elsewhere/x"}
    assert _art(a, "m").uri == "file:///data/models/m/1"
    # The next runs see nothing to do: the base holds the rewritten value.
    for _ in range(2):
        again = env.sync("a", uri_map=RULES)
        assert (again.created, again.updated, again.pulled, again.conflicts) == (0, 0, 0, 0)
    assert _art(a, "m").uri == "file:///data/models/m/1"
    # An edit of another field goes out without disturbing either URI.
    art = _art(a, "m")
    art.description = "edited"
    a.update(art)
    report = env.sync("a", uri_map=RULES, use_etags=False)
    assert report.updated == 1 and report.conflicts == 0
    assert _remote_artifacts(env)["m"] == "s3://team-models/m/1"
    assert _art(a, "m").uri == "file:///data/models/m/1"
    # A new local URI is rewritten too, and reported.
    art = _art(a, "m")
    art.uri = "file:///data/models/m/2"
    a.update(art)
    report = env.sync("a", uri_map=RULES)
    assert report.updated == 1 and [r["to"] for r in report.rewrites] == ["s3://team-models/m/2"]
    assert _remote_artifacts(env)["m"] == "s3://team-models/m/2"
    assert _art(a, "m").uri == "file:///data/models/m/2"
    # A remote change to another field is pulled without taking the rewritten URI locally.
    remote = env.remote()
    try:
        (remote_art,) = [x for x in remote.list_all(Artifact) if getattr(x, "name", None) == "m"]
        remote.patch(ModelArtifact, str(remote_art.id),
                     {"description": "remote edit", "state": "LIVE"})
    finally:
        remote.close()
    report = env.sync("a", uri_map=RULES)
    assert report.pulled == 1 and report.conflicts == 0
    art = _art(a, "m")
    assert (art.description, art.uri) == ("remote edit", "file:///data/models/m/2")
    # Another store pulls the remote's URI.
    env.sync("b")
    assert _art(env.store("b"), "m").uri == "s3://team-models/m/2"


def test_push_and_pull_limited_to_models(env: Env) -> None:
    a = env.store("a")
    a.register_model("m1", "s3://b/m1", version="v1")
    a.register_model("m2", "s3://b/m2", version="v1")
    plan = env.sync("a", dry_run=True, models=["m1"])
    assert {i["model"] for i in plan.plan} == {"m1"} and plan.models == ["m1"]
    report = env.sync("a", models=["m1"])
    assert report.created == 3 and report.remaining == 3  # m2's three creates stay queued
    remote = env.remote()
    assert [getattr(m, "name", None) for m in remote.list_all(RegisteredModel)] == ["m1"]
    report = env.sync("a")
    assert report.created == 3 and report.remaining == 0

    b = env.store("b")
    report = env.sync("b", models=["m2"])
    assert report.pulled == 3
    assert [m.name for m in b.list_page(RegisteredModel).items] == ["m2"]
    assert [v.name for v in b.list_page(ModelVersion).items] == ["v1"]
    assert [x.uri for x in b.list_page(ModelArtifact).items] == ["s3://b/m2"]
    # A later full pull still gets what the limited pull skipped (its own watermarks).
    report = env.sync("b")
    assert report.pulled == 3
    assert sorted(m.name for m in b.list_page(RegisteredModel).items) == ["m1", "m2"]
    # Remote edits of both models: a pull limited to m1 takes only m1's.
    for name in ("m1", "m2"):
        found = remote.find_model(name)
        assert found is not None
        remote.patch(RegisteredModel, str(found.entity.id),
                     {"description": f"{name} remote", "state": "LIVE"})
    remote.close()
    report = env.sync("b", models=["m1"])
    assert report.pulled == 1
    assert b.find(RegisteredModel, name="m1").description == "m1 remote"
    assert b.find(RegisteredModel, name="m2").description is None
    env.sync("b")
    assert b.find(RegisteredModel, name="m2").description == "m2 remote"


def test_progress_callback(env: Env) -> None:
    a = env.store("a")
    a.register_model("m", "s3://b/m", version="v1")
    calls: list[tuple[str, int, int]] = []
    env.sync("a", progress=lambda phase, done, total: calls.append((phase, done, total)))
    # The pull counts entities (the remote gives no total: 0); the three pushed ones are
    # listed back and found unchanged.
    assert calls == [("push", 0, 3), ("push", 1, 3), ("push", 2, 3), ("push", 3, 3),
                     ("pull", 0, 0), ("pull", 1, 0), ("pull", 2, 0), ("pull", 3, 0)]


def test_sync_status(env: Env) -> None:
    a = env.store("a")
    rm, _mv, _ = a.register_model("m", "s3://b/m", version="v1")
    rm.description = "x"
    a.update(rm)
    st = sync_status(a)
    assert st["queued"] == {"changes": 4, "entities": 3, "by_kind": {
        "model-artifact": {"create": 1}, "model-version": {"create": 1},
        "registered-model": {"create": 1, "update": 1}}}
    assert (st["conflicts_open"], st["set_aside"], st["remotes"], st["upstream"]) == (
        0, [], {}, None)
    env.sync("a")
    st = sync_status(a)
    url = env.proxy.url
    assert st["queued"] == {"changes": 0, "entities": 0, "by_kind": {}}
    assert st["upstream"] == url
    info = st["remotes"][url]
    assert isinstance(info["last_push"], int) and isinstance(info["last_pull"], int)
    assert info["links"] == 3 and info["conflicts_open"] == 0
    assert info["identity"]["model_id"] == "1" and info["identity"]["name"] == "m"
    # A set-aside item (the server rejects it) and an open conflict show up.
    a.register_model("bad", "s3://b/bad", version="v1")
    env.proxy.rules({"match": "POST /api/model_registry/v1/registered_models", "nth": 1,
                     "action": "status", "status": 400})
    remote = env.remote()
    found = remote.find_model("m")
    assert found is not None
    remote.patch(RegisteredModel, "1", {"description": "theirs", "state": "LIVE"})
    remote.close()
    rm = a.find(RegisteredModel, name="m")
    rm.description = "ours"
    a.update(rm)
    report = env.sync("a", use_etags=False)
    assert report.set_aside >= 1 and report.conflicts == 1
    st = sync_status(a)
    assert st["conflicts_open"] == 1
    assert (st["set_aside"][0]["entity"], st["set_aside"][0]["kind"]) == ("model bad",
                                                                        "registered-model")
    assert "injected 400" in st["set_aside"][0]["message"]
    assert json.loads(json.dumps(st)) == st


def test_client_sync_passes_options(env: Env, tmp_path: Path) -> None:
    client = ModelRegistryClient("http://127.0.0.1", env.server.port, author="ann",
                                 path=tmp_path / "c.db")
    client.register_model("m", "file:///data/models/m/1", version="v1")
    calls: list[str] = []
    plan = client.sync(dry_run=True, uri_map=RULES, models=["m"], verify=False)
    assert plan.plan[2]["uri_rewrite"]["to"] == "s3://team-models/m/1"
    report = client.sync(uri_map=RULES, models=["m"], verify=False,
                         progress=lambda p, d, t: calls.append(p))
    assert report.created == 3 and set(calls) == {"push", "pull"}
    assert _remote_artifacts(env) == {"m": "s3://team-models/m/1"}
    st = client.sync_status()
    assert st["upstream"] == env.server.url and st["queued"]["changes"] == 0


def test_engine_accepts_a_url(env: Env) -> None:
    a = env.store("a")
    a.register_model("m", "s3://b/m", version="v1")
    with SyncEngine(a, env.server.url, verify=True, sleep=lambda _s: None) as engine:
        assert isinstance(engine.remote, RemoteRegistry)
        assert engine.run().created == 3
    conn = sqlite3.connect(env.server.db)
    try:
        assert conn.execute("SELECT count(*) FROM contexts").fetchone()[0] == 2
    finally:
        conn.close()
