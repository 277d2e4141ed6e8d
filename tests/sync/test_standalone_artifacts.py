"""Artifacts created without a version sync, and their later attachment to a version syncs
as a link (kubeflow/model-registry internal/core/artifact.go: the upsert by id into
``POST /model_versions/{id}/artifacts`` links the existing artifact, no copy)."""

from __future__ import annotations

from typing import Any

import requests

from localhub.types import Artifact, ModelArtifact, ModelVersion, RegisteredModel

from tests.support.sync_env import Env

API = "/api/model_registry/v1"


def _remote(env: Env, path: str, method: str = "GET", body: Any = None) -> Any:
    r = requests.request(method, env.server.url + API + path, json=body, timeout=10)
    assert r.status_code < 300, r.text
    return r.json()


def test_standalone_pushes_then_attach_links(env: Env) -> None:
    """A local artifact of no version is created remotely alone; attaching it locally links
    the same remote artifact to the version; another store pulls it into that version."""
    a = env.store("a")
    rm = a.create(RegisteredModel(name="m"))
    mv = a.create(ModelVersion(name="v1", registered_model_id=rm.id))
    ma = a.create(ModelArtifact(name="weights", uri="s3://w", external_id="w-1"))
    report = env.sync("a")
    assert report.remaining == 0, report
    remote_all = _remote(env, "/model_artifacts")["items"]
    assert [x["name"] for x in remote_all] == ["weights"]
    remote_mv = _remote(env, "/model_version?name=v1&parentResourceId=" +
                        _remote(env, "/registered_model?name=m")["id"])
    assert _remote(env, f"/model_versions/{remote_mv['id']}/artifacts")["size"] == 0
    a.attach_artifact(ma.id or "", mv.id or "")
    report = env.sync("a")
    assert (report.remaining, report.conflicts) == (0, 0), report
    linked = _remote(env, f"/model_versions/{remote_mv['id']}/artifacts")["items"]
    assert [x["id"] for x in linked] == [remote_all[0]["id"]]
    assert _remote(env, "/model_artifacts")["size"] == 1  # linked, not copied
    b = env.store("b")
    env.sync("b")
    found = b.find(ModelArtifact, external_id="w-1")
    assert found is not None
    assert b.artifact_version_id(found.id or "") is not None
    assert env.sync("a").pulled == 0  # no false change after the round trip


def test_remote_standalone_pulls_then_attaches(env: Env) -> None:
    """A remote artifact of no version is mirrored as one; when the remote links it to a
    version, the next pull moves the same local artifact into that version."""
    rm = _remote(env, "/registered_models", "POST", {"name": "m"})
    mv = _remote(env, "/model_versions", "POST", {"name": "v1", "registeredModelId": rm["id"]})
    art = _remote(env, "/model_artifacts", "POST", {"name": "w", "uri": "s3://w",
                                                    "externalId": ""})
    b = env.store("b")
    env.sync("b")
    local = b.find(Artifact, external_id="")
    assert local is not None and b.artifact_version_id(local.id or "") is None
    _remote(env, f"/model_versions/{mv['id']}/artifacts", "POST",
            {"artifactType": "model-artifact", "id": art["id"]})
    report = env.sync("b")
    assert report.conflicts == 0, report
    again = b.find(Artifact, external_id="")
    assert again is not None and again.id == local.id
    version = b.find(ModelVersion, name="v1", parent_id=b.find(RegisteredModel, name="m").id)
    assert b.artifact_version_id(local.id or "") == version.id
    assert b.pending() == []
    assert env.sync("b").pulled == 0
