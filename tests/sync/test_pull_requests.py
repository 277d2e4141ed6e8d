"""Pull request budgets, counted at the fault proxy: a first mirror lists each version's
artifacts once; a later pull after one change of any kind costs the kinds' listings only
(docs/sync.md, "Clock-safe pull" and docs/performance.md, bench_mirror)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from localhub.types import Artifact, BaseResource, ModelVersion, RegisteredModel

from tests.support.sync_env import Env

API = "/api/model_registry/v1"
MODELS, VERSIONS = 3, 4
#: The four kinds' listings (models, versions, artifacts, serving environments), one page each.
LISTINGS = [("GET", "/registered_models"), ("GET", "/model_versions"), ("GET", "/artifacts"),
            ("GET", "/serving_environments")]


def _probe_and_listings(log: list[tuple[str, str]]) -> bool:
    """The identity probe (a GET of one model) then the four listings, nothing else."""
    return len(log) == 5 and log[0][0] == "GET" and log[0][1].startswith(
        "/registered_models/") and log[1:] == LISTINGS


def _api(log: list[tuple[str, str, object]]) -> list[tuple[str, str]]:
    return [(m, p.split("?")[0].replace(API, "")) for m, p, _s in log
            if not p.startswith("/readyz")]


def _post(env: Env, path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
    reply = requests.request(method, env.server.url + API + path, json=body, timeout=10)
    assert reply.status_code < 300, reply.text
    out: dict[str, Any] = reply.json()
    return out


def _seed(env: Env) -> dict[str, str]:
    """MODELS x VERSIONS registrations and one top-level artifact, made at the server; the
    ids of one of each kind."""
    ids: dict[str, str] = {}
    for m in range(MODELS):
        model = _post(env, "/registered_models", {"name": f"m{m}"})
        for v in range(VERSIONS):
            version = _post(env, "/model_versions", {"name": f"v{v}",
                                                     "registeredModelId": model["id"]})
            art = _post(env, f"/model_versions/{version['id']}/artifacts",
                        {"artifactType": "model-artifact", "name": f"w{m}.{v}",
                         "uri": f"s3://b/{m}/{v}"})
            ids.update(model=model["id"], version=version["id"], artifact=art["id"])
    ids["top"] = _post(env, "/model_artifacts", {"name": "top", "uri": "s3://b/top"})["id"]
    return ids


def _mirror(env: Env) -> dict[str, str]:
    ids = _seed(env)
    env.proxy.reset()
    report = env.sync("b", push=False)
    assert report.stopped is None and report.pulled == MODELS * (1 + 2 * VERSIONS) + 1
    return ids


def test_first_mirror_lists_each_version_once(env: Env) -> None:
    """A first mirror costs the kinds' listings and one artifact listing per version."""
    _seed(env)
    env.proxy.reset()
    report = env.sync("b", push=False)
    log = _api(env.proxy.log())
    assert report.stopped is None and report.pulled == MODELS * (1 + 2 * VERSIONS) + 1
    assert log[:3] == LISTINGS[:3] and log[-1] == LISTINGS[3]
    walked = [p for _m, p in log[3:-1]]
    assert all(p.startswith("/model_versions/") and p.endswith("/artifacts") for p in walked)
    assert len(set(walked)) == len(walked) == MODELS * VERSIONS
    assert report.requests == len(log)
    b = env.store("b")
    placed = {str(a.name): b.artifact_version_id(str(a.id)) for a in b.list_page(Artifact).items}
    assert placed.pop("top") is None and len(placed) == MODELS * VERSIONS
    assert None not in placed.values()


@pytest.mark.parametrize("kind", ["model", "version", "version artifact", "top-level artifact"])
def test_pull_after_one_change_costs_the_listings(env: Env, kind: str) -> None:
    """After one change of any kind, a pull costs the identity probe and the four listings:
    no version is walked (not even for a top-level artifact) and the change is pulled."""
    ids = _mirror(env)
    path, key = {"model": ("/registered_models/", "model"),
                 "version": ("/model_versions/", "version"),
                 "version artifact": ("/model_artifacts/", "artifact"),
                 "top-level artifact": ("/model_artifacts/", "top")}[kind]
    body: dict[str, Any] = {"description": f"changed {kind}"}
    if "artifact" in kind:
        body["artifactType"] = "model-artifact"
    _post(env, path + ids[key], body, method="PATCH")
    env.proxy.reset()
    report = env.sync("b", push=False)
    assert report.stopped is None and report.pulled == 1, report
    assert _probe_and_listings(_api(env.proxy.log()))
    b = env.store("b")
    cls: type[BaseResource] = {"model": RegisteredModel,
                               "version": ModelVersion}.get(kind, Artifact)
    assert [e for e in b.list_page(cls).items if e.description == f"changed {kind}"]
    env.proxy.reset()
    again = env.sync("b", push=False)
    assert again.pulled == 0 and _probe_and_listings(_api(env.proxy.log()))


def test_new_version_costs_its_own_listing(env: Env) -> None:
    """A new version with its artifact costs one artifact listing, of that version only."""
    _mirror(env)
    model = _post(env, "/registered_models", {"name": "late"})
    version = _post(env, "/model_versions", {"name": "v0", "registeredModelId": model["id"]})
    _post(env, f"/model_versions/{version['id']}/artifacts",
          {"artifactType": "model-artifact", "name": "w", "uri": "s3://late"})
    env.proxy.reset()
    report = env.sync("b", push=False)
    assert report.stopped is None and report.pulled == 3
    log = _api(env.proxy.log())
    assert log[4] == ("GET", f"/model_versions/{version['id']}/artifacts")
    assert _probe_and_listings(log[:4] + log[5:])
