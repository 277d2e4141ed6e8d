"""End to end: offline work on store A, sync to a real ``localhub serve``, read it back with
the official ``model_registry`` client, pull into store B."""

from __future__ import annotations

from typing import Any

from localhub.client import ModelRegistryClient
from localhub.types import (
    ModelVersionState,
)

from tests.support.sync_checks import content as _content
from tests.support.sync_env import Env


def _offline_work(env: Env) -> None:
    a = env.store("a")
    rm, mv, ma = a.register_model("fraud", "s3://b/fraud/1", version="v1",
                                  model_format_name="onnx", model_format_version="1",
                                  author="ann", owner="ann",
                                  metadata={"acc": 0.91, "epochs": 10, "team": "risk"})
    a.register_model("fraud", "s3://b/fraud/2", version="v2", author="ann")
    a.register_model("churn", "s3://b/churn/1", version="1.0", author="bob")
    rm.description = "fraud detector"
    rm.custom_properties = {"domain": "payments"}
    a.update(rm)
    mv.state = ModelVersionState.ARCHIVED
    mv.description = "first try"
    a.update(mv)
    ma.storage_key = "aws-conn"
    a.update(ma)


def test_push_then_official_client_and_pull(env: Env) -> None:
    _offline_work(env)
    a = env.store("a")
    assert len(a.pending()) > 0
    report = env.sync("a")
    assert (report.created, report.adopted, report.conflicts, report.set_aside,
            report.remaining) == (8, 0, 0, 0, 0)
    assert a.pending() == []

    from model_registry import ModelRegistry

    official = ModelRegistry("http://127.0.0.1", env.server.port, author="x", is_secure=False,
                             user_token="unused")
    fraud = official.get_registered_model("fraud")
    assert fraud is not None and fraud.description == "fraud detector"
    assert fraud.custom_properties == {"domain": "payments"}
    v1 = official.get_model_version("fraud", "v1")
    assert v1 is not None and v1.state.value == "ARCHIVED" and v1.description == "first try"
    assert v1.author == "ann"
    assert v1.custom_properties == {"acc": 0.91, "epochs": 10, "team": "risk"}
    art = official.get_model_artifact("fraud", "v1")
    assert art is not None and art.uri == "s3://b/fraud/1" and art.storage_key == "aws-conn"
    assert art.model_format_name == "onnx"
    assert {m.name for m in official.get_registered_models()} == {"fraud", "churn"}
    assert {v.name for v in official.get_model_versions("fraud")} == {"v1", "v2"}

    # The remote holds exactly A's content.
    from localhub.store import SQLiteStore

    remote_store = SQLiteStore(env.server.db)
    try:
        assert _content(remote_store) == _content(a)
    finally:
        remote_store.close()

    # B pulls and sees the same; pulled rows are not queued.
    b = env.store("b")
    report_b = env.sync("b")
    assert report_b.pulled == 8 and report_b.conflicts == 0
    assert _content(b) == _content(a)
    assert b.pending() == []

    # A second sync of A is a no-op: nothing pushed, nothing pulled.
    again = env.sync("a")
    assert (again.created, again.updated, again.pulled, again.remaining) == (0, 0, 0, 0)


def test_client_facade_sync(env: Env, tmp_path: Any) -> None:
    client = ModelRegistryClient(env.server.url, author="ann", path=tmp_path / "c.db")
    client.register_model("m", "s3://m/1", version="v1", model_format_name="onnx")
    plan = client.sync(dry_run=True)
    assert plan.dry_run and [p["op"] for p in plan.plan] == ["create"] * 3
    assert [len(p["requests"]) for p in plan.plan] == [1, 1, 1]
    assert client.pending() != []  # the dry run wrote nothing
    report = client.sync()
    assert report.created == 3 and client.pending() == []
    assert client.conflicts() == []


def test_bearer_token(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    import pytest

    from localhub.errors import RemoteAuthError

    from tests.support.processes import free_port, stop, wait_healthy

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "localhub.cli", "serve", "--port", str(port), "--db",
             str(tmp_path / "r.db"), "--token-env", "LH_TEST_TOKEN"], stdout=out,
            stderr=subprocess.STDOUT, env={**os.environ, "LH_TEST_TOKEN": "t0ken"})
    try:
        wait_healthy(f"http://127.0.0.1:{port}/readyz/health", proc, log)
        client = ModelRegistryClient(f"http://127.0.0.1:{port}", author="a",
                                     path=tmp_path / "c.db")
        client.register_model("m", "s3://m/1", version="v1")
        with pytest.raises(RemoteAuthError, match="bearer token"):
            client.sync()
        assert len(client.pending()) == 3
        assert client.sync(token="t0ken").created == 3
        assert "t0ken" not in (tmp_path / "c.db").read_bytes().decode("latin-1")
    finally:
        stop(proc)
