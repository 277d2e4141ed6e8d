"""Against a server without the v1 routes (plain-text 404), sync speaks v1alpha3."""

from __future__ import annotations

from localhub.rest_client import API_V1ALPHA3, RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine
from localhub.types import ModelArtifact, ModelVersion, RegisteredModel

from tests.support.sync_env import Env


def test_sync_falls_back_to_v1alpha3(env: Env) -> None:
    env.proxy.mode(v1_missing=True)
    a = env.store("a")
    rm, _mv, _ = a.register_model("m", "s3://b/m", version="v1", metadata={"k": "v"})
    remote = RemoteRegistry(env.proxy.url)
    try:
        report = SyncEngine(a, remote, sleep=lambda _s: None).run()
        assert remote.api == API_V1ALPHA3
    finally:
        remote.close()
    assert (report.created, report.remaining, report.conflicts, report.stopped) == (3, 0, 0,
                                                                                     None)
    log = env.proxy.log()
    v1 = [(m, p, s) for m, p, s in log if p.startswith("/api/model_registry/v1/")]
    alpha = [(m, p, s) for m, p, s in log if p.startswith("/api/model_registry/v1alpha3/")]
    # One probe hit the missing v1 routes (plain-text 404), everything else went to v1alpha3.
    assert v1 == [("POST", "/api/model_registry/v1/registered_models", 404)]
    assert [m for m, _p, _s in alpha[:3]] == ["POST", "POST", "POST"]
    assert all(s == 200 or s == 201 for _m, _p, s in alpha)
    # Updates and pulls work the same way, and B reads it all through v1alpha3.
    rm = a.get(RegisteredModel, rm.id)
    rm.description = "via alpha"
    a.update(rm)
    report = env.sync("a")
    assert report.updated == 1
    b_report = env.sync("b")
    assert b_report.pulled == 3
    b: SQLiteStore = env.store("b")
    assert b.find(RegisteredModel, name="m").description == "via alpha"
    assert [v.name for v in b.list_page(ModelVersion).items] == ["v1"]
    assert [x.uri for x in b.list_page(ModelArtifact).items] == ["s3://b/m"]
    assert not [p for _m, p, s in env.proxy.log()
                if p.startswith("/api/model_registry/v1/") and s != 404]
    # The remote itself (read directly on v1) holds exactly that content.
    direct = env.remote()
    try:
        found = direct.find_model("m")
        assert found is not None and found.entity.description == "via alpha"
    finally:
        direct.close()
