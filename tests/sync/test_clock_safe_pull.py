"""Clock-safe pull: a remote whose clock steps back (up to the look-back, ``LOOKBACK_MS``)
between two pulls loses nothing, and re-reading the window costs the kinds' listings only and
writes nothing unchanged (docs/sync.md, "Clock-safe pull"). The remote is a real ``serve``
whose clock a test steps while it runs (``clock-file`` quirk, ``tests/support/clock.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from localhub.store import SQLiteStore
from localhub.sync.pull import LOOKBACK_MS
from localhub.types import Artifact, ModelVersion, RegisteredModel

from tests.support.clock import ServerClock
from tests.support.processes import start_serve, stop
from tests.support.servers import Proxy, Server, proxying
from tests.support.sync_env import Env

pytestmark = pytest.mark.own_server  # starts its own emulated server (clock-file)

API = "/api/model_registry/v1"
LISTINGS = [("GET", "/registered_models"), ("GET", "/model_versions"), ("GET", "/artifacts"),
            ("GET", "/serving_environments")]


@contextmanager
def _clocked(tmp: Path) -> Iterator[tuple[Env, ServerClock]]:
    """An Env over a ``serve`` whose clock the test steps, behind the fault proxy."""
    clock = ServerClock(tmp / "clock")
    proc, port = start_serve(tmp, tmp / "remote.db", tmp / "serve.log", quirks=clock.quirk)
    env: Env | None = None
    try:
        server = Server(proc, port, tmp / "remote.db", tmp / "serve.log")
        with proxying(server.url, tmp / "proxy.log") as proxy:
            env = Env(tmp, server, proxy)
            yield env, clock
    finally:
        if env is not None:
            env.close()
        stop(proc)


def _call(env: Env, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = requests.request(method, env.server.url + API + path, json=body, timeout=10)
    assert reply.status_code < 300, reply.text
    out: dict[str, Any] = reply.json()
    return out


def _register(env: Env, model_id: str, name: str) -> dict[str, Any]:
    version = _call(env, "POST", "/model_versions", {"name": name,
                                                     "registeredModelId": model_id})
    _call(env, "POST", f"/model_versions/{version['id']}/artifacts",
          {"artifactType": "model-artifact", "name": name, "uri": f"s3://b/{name}"})
    return version


def _api(proxy: Proxy) -> list[tuple[str, str]]:
    return [(m, p.split("?")[0].replace(API, "")) for m, p, _s in proxy.log()
            if not p.startswith("/readyz")]


def _writes(store: SQLiteStore) -> Any:
    """Count the write transactions on ``store``'s connection (BEGIN IMMEDIATE)."""
    count = [0]
    store.db.connection().set_trace_callback(
        lambda sql: count.__setitem__(0, count[0] + sql.startswith("BEGIN IMMEDIATE")))
    return count


@pytest.mark.parametrize("step_ms", [-3_000, -(LOOKBACK_MS - 60_000)])
def test_changes_after_a_clock_step_back_are_pulled(tmp_path: Path, step_ms: int) -> None:
    """Entities created and edited after the server's clock stepped back (3 s; the bound
    less a minute) are pulled; the next pull re-reads the window without a write."""
    with _clocked(tmp_path) as (env, clock):
        model = _call(env, "POST", "/registered_models", {"name": "m"})
        old = _register(env, model["id"], "v1")
        assert env.sync("b", push=False).pulled == 3
        clock.step(step_ms)
        _call(env, "PATCH", f"/registered_models/{model['id']}", {"description": "after"})
        _call(env, "PATCH", f"/model_versions/{old['id']}", {"description": "after"})
        late = _call(env, "POST", "/registered_models", {"name": "late"})
        _register(env, late["id"], "v2")
        _register(env, model["id"], "v3")
        assert int(late["lastUpdateTimeSinceEpoch"]) < int(old["lastUpdateTimeSinceEpoch"])
        report = env.sync("b", push=False)
        assert report.stopped is None and report.pulled == 2 + 1 + 4, report
        b = env.store("b")
        assert sorted(str(m.name) for m in b.list_page(RegisteredModel).items) == ["late", "m"]
        assert {str(m.name): m.description for m in b.list_page(RegisteredModel).items}["m"] \
            == "after"
        versions = {str(v.name): v for v in b.list_page(ModelVersion).items}
        assert sorted(versions) == ["v1", "v2", "v3"] and versions["v1"].description == "after"
        assert all(b.artifact_version_id(str(a.id)) is not None
                   for a in b.list_page(Artifact).items)
        assert len(b.list_page(Artifact).items) == 3
        # The window again: every entity listed, none changed, nothing written.
        env.proxy.reset()
        writes = _writes(b)
        try:
            again = env.sync("b", push=False)
        finally:
            b.db.connection().set_trace_callback(None)
        assert again.pulled == 0 and again.stopped is None
        assert _api(env.proxy)[1:] == LISTINGS  # after the identity probe
        assert writes[0] <= 1, writes  # the run's own bookkeeping (last pull time) only
