"""Artifacts (model, generic, version upsert) and serving entities over HTTP."""

from __future__ import annotations

from typing import Any

import requests

from tests.support.servers import Server


def _post(url: str, body: Any) -> requests.Response:
    return requests.post(url, json=body, timeout=10)


def _version(api: str, name: str) -> tuple[str, str]:
    rm = _post(f"{api}/registered_models", {"name": name}).json()
    mv = _post(f"{api}/model_versions", {"name": "v1", "registeredModelId": rm["id"]}).json()
    return rm["id"], mv["id"]


def test_upsert_statuses(api: str, uniq: str) -> None:
    """Upsert: 201 for new model/doc artifacts, 200 for others; metric names update in place."""
    _rm_id, mv = _version(api, uniq)
    url = f"{api}/model_versions/{mv}/artifacts"
    assert _post(url, {"artifactType": "model-artifact", "name": "m", "uri": "s3://m"}
                 ).status_code == 201
    assert _post(url, {"artifactType": "doc-artifact", "uri": "s3://d"}).status_code == 201
    ds = _post(url, {"artifactType": "dataset-artifact", "name": "ds", "digest": "abc"})
    assert ds.status_code == 200 and ds.json()["digest"] == "abc"
    metric = _post(url, {"artifactType": "metric", "name": "acc", "value": 0.5, "step": "1"})
    assert metric.status_code == 200
    assert metric.json()["value"] == 0.5 and metric.json()["step"] == "1"
    again = _post(url, {"artifactType": "metric", "name": "acc", "value": 0.75})
    assert again.status_code == 200 and again.json()["id"] == metric.json()["id"]
    assert again.json()["value"] == 0.75
    param = _post(url, {"artifactType": "parameter", "name": "lr", "value": "0.1",
                        "parameterType": "number"})
    assert param.status_code == 200 and param.json()["parameterType"] == "number"
    conflict = _post(url, {"artifactType": "model-artifact", "name": "m", "uri": "s3://m2"})
    assert conflict.status_code == 409 and conflict.json()["code"] == "Conflict"
    by_id = _post(url, {"artifactType": "dataset-artifact", "id": ds.json()["id"],
                        "description": "upd"})
    assert by_id.status_code == 200 and by_id.json()["description"] == "upd"
    assert by_id.json()["digest"] == "abc"
    listing = requests.get(url, timeout=10).json()
    assert [a["artifactType"] for a in listing["items"]] == [
        "model-artifact", "doc-artifact", "dataset-artifact", "metric", "parameter"]
    only = requests.get(url, params={"artifactType": "metric"}, timeout=10).json()
    assert [a["name"] for a in only["items"]] == ["acc"]
    named = requests.get(url, params={"name": "lr"}, timeout=10).json()
    assert [a["name"] for a in named["items"]] == ["lr"]
    assert requests.get(url, params={"artifactType": "bogus"}, timeout=10).status_code == 400
    missing = _post(f"{api}/model_versions/99999/artifacts",
                    {"artifactType": "model-artifact", "uri": "s3://x"})
    assert missing.status_code == 404 and missing.json()["code"] == "Not Found"
    assert _post(url, {"uri": "s3://x"}).status_code == 400  # artifactType required
    assert requests.get(f"{api}/model_versions/99999/artifacts", timeout=10).json()["size"] == 0


def test_upsert_links_artifacts_to_one_version(api: str, uniq: str) -> None:
    """Upserting another version's artifact by id is a 400 (single-version links)."""
    _a, mv1 = _version(api, uniq)
    _b, mv2 = _version(api, uniq + "b")
    art = _post(f"{api}/model_versions/{mv1}/artifacts",
                {"artifactType": "model-artifact", "uri": "s3://a"}).json()
    r = _post(f"{api}/model_versions/{mv2}/artifacts",
              {"artifactType": "model-artifact", "id": art["id"]})
    assert r.status_code == 400 and "one version" in r.json()["message"]


def test_model_artifacts_and_generic_artifacts(api: str, uniq: str) -> None:
    """Top-level model artifacts, /artifacts of every type, find-one and type-safe PATCH."""
    ma = _post(f"{api}/model_artifacts", {"name": uniq, "uri": "s3://a", "externalId": uniq})
    assert ma.status_code == 201 and ma.json()["artifactType"] == "model-artifact"
    # Top-level names never clash (the Go server prefixes a random UUID).
    assert _post(f"{api}/model_artifacts", {"name": uniq, "uri": "s3://b"}).status_code == 201
    assert _post(f"{api}/model_artifacts", {"uri": "s3://c", "artifactType": "doc-artifact"}
                 ).status_code == 400
    assert _post(f"{api}/model_artifacts", {"uri": "s3://c", "bogus": 1}).status_code == 400
    ma_id = ma.json()["id"]
    r = requests.patch(f"{api}/model_artifacts/{ma_id}",
                       json={"artifactType": "model-artifact", "modelFormatName": "onnx"},
                       timeout=10)
    assert r.status_code == 200 and r.json()["modelFormatName"] == "onnx"
    assert r.json()["state"] == "UNKNOWN"
    r = requests.patch(f"{api}/model_artifacts/{ma_id}", json={"state": "LIVE"}, timeout=10)
    assert r.json()["state"] == "LIVE" and r.json()["modelFormatName"] == "onnx"
    r = requests.patch(f"{api}/model_artifacts/{ma_id}", json={"storageKey": "k"}, timeout=10)
    assert r.json()["state"] == "LIVE"  # not reset to UNKNOWN
    found = requests.get(f"{api}/artifact", params={"externalId": uniq}, timeout=10)
    assert found.status_code == 200 and found.json()["id"] == ma_id
    assert requests.get(f"{api}/model_artifact", params={"externalId": uniq},
                        timeout=10).json()["id"] == ma_id
    for kind, extra in (("doc-artifact", {"uri": "s3://d"}), ("dataset-artifact", {}),
                        ("metric", {"value": 1}), ("parameter", {"value": "x"})):
        r = _post(f"{api}/artifacts", {"artifactType": kind, "name": f"{uniq}-{kind}", **extra})
        assert r.status_code == 201 and r.json()["artifactType"] == kind
        got = requests.get(f"{api}/artifacts/{r.json()['id']}", timeout=10)
        assert got.json() == r.json()
        # A doc artifact is not a model artifact.
        assert requests.get(f"{api}/model_artifacts/{r.json()['id']}",
                            timeout=10).status_code == 404
        bad = requests.patch(f"{api}/artifacts/{r.json()['id']}",
                             json={"artifactType": "model-artifact"}, timeout=10)
        assert bad.status_code == 400 and "artifact type" in bad.json()["message"]
    listed = requests.get(f"{api}/artifacts", params={"artifactType": "parameter"}, timeout=10)
    assert {a["artifactType"] for a in listed.json()["items"]} == {"parameter"}
    r = requests.patch(f"{api}/artifacts/{ma_id}",
                       json={"artifactType": "model-artifact", "description": "g"}, timeout=10)
    assert r.status_code == 200 and r.json()["description"] == "g"


def test_serving_entities(api: str, uniq: str) -> None:
    """Serving environments, inference services, their model/version and serves."""
    rm_id, mv_id = _version(api, uniq)
    se = _post(f"{api}/serving_environments", {"name": uniq})
    assert se.status_code == 201
    se_id = se.json()["id"]
    assert _post(f"{api}/serving_environments", {"name": uniq}).status_code == 409
    found = requests.get(f"{api}/serving_environment", params={"name": uniq}, timeout=10)
    assert found.json()["id"] == se_id
    body = {"name": "isvc", "registeredModelId": rm_id, "servingEnvironmentId": "1",
            "runtime": "kserve"}
    isvc = _post(f"{api}/serving_environments/{se_id}/inference_services", body)
    assert isvc.status_code == 201, isvc.text
    assert isvc.json()["servingEnvironmentId"] == se_id
    is_id = isvc.json()["id"]
    assert _post(f"{api}/inference_services", {**body, "registeredModelId": "99999",
                                               "name": "x"}).status_code == 404
    assert _post(f"{api}/inference_services", {"name": "x"}).status_code == 422
    assert requests.get(f"{api}/inference_services/{is_id}/model",
                        timeout=10).json()["id"] == rm_id
    assert requests.get(f"{api}/inference_services/{is_id}/version",
                        timeout=10).json()["id"] == mv_id
    r = requests.patch(f"{api}/inference_services/{is_id}",
                       json={"desiredState": "UNDEPLOYED", "modelVersionId": mv_id}, timeout=10)
    assert r.status_code == 200 and r.json()["desiredState"] == "UNDEPLOYED"
    assert requests.get(f"{api}/inference_service",
                        params={"name": "isvc", "parentResourceId": se_id},
                        timeout=10).json()["id"] == is_id
    listed = requests.get(f"{api}/serving_environments/{se_id}/inference_services", timeout=10)
    assert [i["id"] for i in listed.json()["items"]] == [is_id]
    serve = _post(f"{api}/inference_services/{is_id}/serves",
                  {"modelVersionId": mv_id, "lastKnownState": "RUNNING"})
    assert serve.status_code == 201 and serve.json()["lastKnownState"] == "RUNNING"
    assert _post(f"{api}/inference_services/{is_id}/serves",
                 {"modelVersionId": "99999"}).status_code == 404
    serves = requests.get(f"{api}/inference_services/{is_id}/serves", timeout=10).json()
    assert [s["id"] for s in serves["items"]] == [serve.json()["id"]]
    assert "inferenceServiceId" not in serves["items"][0]


def test_alpha_serving_paths(shared: Server, uniq: str) -> None:
    """Serving routes exist under v1alpha3 too."""
    base = shared.url + "/api/model_registry/v1alpha3"
    se = _post(f"{base}/serving_environments", {"name": uniq})
    assert se.status_code == 201
    r = requests.get(f"{base}/serving_environments/{se.json()['id']}/inference_services",
                     timeout=10)
    assert r.status_code == 200 and r.json()["items"] == []
