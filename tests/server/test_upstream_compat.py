"""``serve`` and offline validation answer as the Go server of kubeflow/model-registry does.

Each test names the upstream source it follows (repository kubeflow/model-registry).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import localhub
from localhub.store import SQLiteStore
from localhub.types import ModelArtifact, ModelVersion, Parameter, RegisteredModel

TIMEOUT = 10


def _post(url: str, body: dict[str, Any], status: int) -> dict[str, Any]:
    r = requests.post(url, json=body, timeout=TIMEOUT)
    assert r.status_code == status, r.text
    return dict(r.json())


def _patch(url: str, body: dict[str, Any], status: int) -> dict[str, Any]:
    r = requests.patch(url, json=body, timeout=TIMEOUT)
    assert r.status_code == status, r.text
    return dict(r.json())


def _get(url: str, status: int, **params: str) -> dict[str, Any]:
    r = requests.get(url, params=params, timeout=TIMEOUT)
    assert r.status_code == status, r.text
    return dict(r.json())


def _model_and_version(api: str, uniq: str) -> tuple[str, str]:
    rm = _post(f"{api}/registered_models", {"name": uniq}, 201)
    mv = _post(f"{api}/model_versions", {"name": "v1", "registeredModelId": rm["id"]}, 201)
    return rm["id"], mv["id"]


# -- 1. standalone artifacts -------------------------------------------------------------------


def test_standalone_artifact_is_linked_not_copied(api: str, uniq: str) -> None:
    """A model artifact created alone is linked to a version by an upsert with its id
    (internal/core/artifact.go UpsertModelVersionArtifact: an attribution, no copy)."""
    _rm, mv = _model_and_version(api, uniq)
    before = _get(f"{api}/model_artifacts", 200)["size"]
    ma = _post(f"{api}/model_artifacts", {"name": f"{uniq}-w", "uri": "s3://w"}, 201)
    assert _get(f"{api}/model_versions/{mv}/artifacts", 200)["size"] == 0
    linked = _post(f"{api}/model_versions/{mv}/artifacts",
                   {"artifactType": "model-artifact", "id": ma["id"], "description": "d"}, 200)
    assert (linked["id"], linked["uri"], linked["description"]) == (ma["id"], "s3://w", "d")
    items = _get(f"{api}/model_versions/{mv}/artifacts", 200)["items"]
    assert [a["id"] for a in items] == [ma["id"]]
    assert _get(f"{api}/model_artifacts", 200)["size"] == before + 1
    found = _get(f"{api}/model_artifact", 200, name=f"{uniq}-w", parentResourceId=mv)
    assert found["id"] == ma["id"]


def test_artifact_of_another_version_is_not_moved(api: str, uniq: str) -> None:
    """An artifact already in a version is not linked to a second one (documented difference:
    one version per artifact)."""
    _rm, mv = _model_and_version(api, uniq)
    other = _post(f"{api}/model_versions", {"name": "v2", "registeredModelId": _rm}, 201)
    art = _post(f"{api}/model_versions/{mv}/artifacts",
                {"artifactType": "doc-artifact", "name": "readme", "uri": "s3://r"}, 201)
    _post(f"{api}/model_versions/{other['id']}/artifacts",
          {"artifactType": "doc-artifact", "id": art["id"]}, 400)


def test_store_attach_artifact(tmp_path: Path) -> None:
    """The store moves an artifact of no version into a version and queues it for sync."""
    store = SQLiteStore(tmp_path / "s.db")
    try:
        rm = store.create(RegisteredModel(name="m"))
        mv = store.create(ModelVersion(name="v", registered_model_id=rm.id))
        ma = store.create(ModelArtifact(name="w", uri="s3://w"))
        assert store.artifact_version_id(ma.id or "") is None
        store.attach_artifact(ma.id or "", mv.id or "")
        assert store.artifact_version_id(ma.id or "") == mv.id
        assert [a.id for a in store.version_artifacts(mv.id or "")] == [ma.id]
        assert any(c.op == "update" and "version_id" in c.fields for c in store.pending())
    finally:
        store.close()


# -- 2. length limits --------------------------------------------------------------------------


def test_name_limits_at_the_boundary(api: str, uniq: str) -> None:
    """Names fit ``VARCHAR(255)`` columns; owned names after "<parent id>:", a standalone
    artifact's after a 36-character UUID (internal/datastore/embedmd/mysql/migrations
    Context/Artifact tables, internal/converter PrefixWhenOwned)."""
    top = uniq + "x" * (255 - len(uniq))
    rm = _post(f"{api}/registered_models", {"name": top}, 201)
    _post(f"{api}/registered_models", {"name": top + "y"}, 400)
    fit = 255 - len(rm["id"]) - 1
    _post(f"{api}/model_versions", {"name": "v" * fit, "registeredModelId": rm["id"]}, 201)
    _post(f"{api}/model_versions", {"name": "w" * (fit + 1), "registeredModelId": rm["id"]},
          400)
    _post(f"{api}/model_artifacts", {"name": "a" * 218}, 201)
    _post(f"{api}/model_artifacts", {"name": "b" * 219}, 400)
    _post(f"{api}/registered_models", {"name": uniq + "e", "externalId": uniq + "e" * 254}, 400)
    ext = (uniq + "E" * 255)[:255]
    _post(f"{api}/registered_models", {"name": uniq + "f", "externalId": ext}, 201)


def test_property_fields_are_long_text(api: str, uniq: str) -> None:
    """Owner, author and formats are ``MEDIUMTEXT`` properties, not 255-character columns
    (ContextProperty/ArtifactProperty ``string_value mediumtext``)."""
    rm = _post(f"{api}/registered_models", {"name": uniq, "owner": "o" * 5000}, 201)
    assert len(rm["owner"]) == 5000


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=st.integers(1, 300))
def test_offline_name_limit(tmp_path: Path, length: int) -> None:
    """Offline, a model name is accepted exactly when it fits the server's 255 characters,
    and a version name when it fits after "<model id>:"."""
    store = SQLiteStore(tmp_path / f"n{length}.db")
    try:
        name = "m" * length
        if length <= 255:
            rm = store.create(RegisteredModel(name=name))
            fits = length <= 255 - len(str(rm.id)) - 1
            if fits:
                store.create(ModelVersion(name=name, registered_model_id=rm.id))
            else:
                with pytest.raises(localhub.InvalidInputError, match="at most 253"):
                    store.create(ModelVersion(name=name, registered_model_id=rm.id))
        else:
            with pytest.raises(localhub.InvalidInputError, match="at most 255"):
                store.create(RegisteredModel(name=name))
    finally:
        store.close()


def test_offline_accepts_a_250_character_version(tmp_path: Path) -> None:
    """A 250-character version name is accepted offline, as the server accepts it."""
    store = SQLiteStore(tmp_path / "s.db")
    try:
        store.register_model("m", "s3://m", version="v" * 250)
    finally:
        store.close()


# -- 3. empty strings the spec allows ----------------------------------------------------------


def test_empty_external_id_on_create_and_update(api: str, uniq: str) -> None:
    """``externalId: ""`` is a plain string for the spec and the server (BaseResource): taken
    by one entity at a time, like any external id."""
    rm = _post(f"{api}/registered_models", {"name": uniq, "externalId": ""}, 201)
    assert rm["externalId"] == ""
    assert _patch(f"{api}/registered_models/{rm['id']}",
                  {"externalId": "", "description": "d"}, 200)["externalId"] == ""
    mv = _post(f"{api}/model_versions", {"name": "v", "registeredModelId": rm["id"]}, 201)
    _patch(f"{api}/model_versions/{mv['id']}", {"externalId": ""}, 409)
    _patch(f"{api}/registered_models/{rm['id']}", {"externalId": uniq + "r"}, 200)
    assert _patch(f"{api}/model_versions/{mv['id']}", {"externalId": ""}, 200)["externalId"] == ""
    _patch(f"{api}/model_versions/{mv['id']}", {"externalId": uniq + "v"}, 200)
    se = _post(f"{api}/serving_environments", {"name": uniq, "externalId": ""}, 201)
    assert se["externalId"] == ""
    _patch(f"{api}/serving_environments/{se['id']}", {"externalId": uniq + "s"}, 200)
    isvc = _post(f"{api}/inference_services",
                 {"registeredModelId": rm["id"], "servingEnvironmentId": se["id"],
                  "externalId": ""}, 201)
    assert isvc["externalId"] == ""
    assert _patch(f"{api}/inference_services/{isvc['id']}",
                  {"externalId": ""}, 200)["externalId"] == ""
    _patch(f"{api}/inference_services/{isvc['id']}", {"externalId": uniq + "i"}, 200)


def test_empty_parameter_name(api: str, uniq: str) -> None:
    """An empty artifact name is accepted and reads back as the bare owner prefix, the version
    id (converter.PrefixWhenOwned with an empty name, MapNameFromOwned)."""
    _rm, mv = _model_and_version(api, uniq)
    p = _post(f"{api}/model_versions/{mv}/artifacts",
              {"artifactType": "parameter", "name": "", "value": "1"}, 200)
    assert p["name"] == mv


def test_offline_empty_parameter_name(tmp_path: Path) -> None:
    """Offline, an empty parameter name is accepted too."""
    store = SQLiteStore(tmp_path / "s.db")
    try:
        _rm, mv, _ma = store.register_model("m", "s3://m", version="v")
        p = store.create(Parameter(name="", value="1"), version_id=mv.id)
        assert p.name == mv.id
    finally:
        store.close()


# -- 4. find-one queries -----------------------------------------------------------------------


def test_find_version_parameter_rules(api: str, uniq: str) -> None:
    """(name and parentResourceId) or externalId; without a parent the name is not used
    (internal/core/model_version.go GetModelVersionByParams)."""
    rm = _post(f"{api}/registered_models", {"name": uniq}, 201)
    mv = _post(f"{api}/model_versions",
               {"name": "v", "registeredModelId": rm["id"], "externalId": uniq + "-v"}, 201)
    url = f"{api}/model_version"
    assert _get(url, 200, name="other", externalId=uniq + "-v")["id"] == mv["id"]
    body = _get(url, 400, name="v")
    assert body["message"] == ("invalid parameters call, supply either (versionName and "
                               "registeredModelId), or externalId: bad request")
    _get(url, 400)
    assert _get(url, 200, name="v", parentResourceId=rm["id"])["id"] == mv["id"]
    _get(url, 404, name="v", parentResourceId=rm["id"], externalId="nope")


def test_find_artifact_parameter_rules(api: str, uniq: str) -> None:
    """Artifacts: the same combinations, and every parameter given must match
    (internal/core/artifact.go getArtifactByParams)."""
    _rm, mv = _model_and_version(api, uniq)
    art = _post(f"{api}/model_versions/{mv}/artifacts",
                {"artifactType": "model-artifact", "name": "w", "uri": "s3://w",
                 "externalId": uniq + "-a"}, 201)
    for path in ("/artifact", "/model_artifact"):
        assert _get(api + path, 200, name="w", externalId=uniq + "-a")["id"] == art["id"]
        _get(api + path, 404, name="other", externalId=uniq + "-a")
        _get(api + path, 400, name="w")
        assert _get(api + path, 200, externalId=uniq + "-a", parentResourceId=mv)["id"] \
            == art["id"]


def test_find_top_level_matches_both(api: str, uniq: str) -> None:
    """Models and serving environments match name AND externalId when both are given
    (internal/core/registered_model.go GetRegisteredModelByParams)."""
    _post(f"{api}/registered_models", {"name": uniq, "externalId": uniq + "-x"}, 201)
    _get(f"{api}/registered_model", 200, name=uniq, externalId=uniq + "-x")
    _get(f"{api}/registered_model", 404, name=uniq, externalId="other")
    body = _get(f"{api}/serving_environment", 400)
    assert body["message"] == "invalid parameters call, supply either name or externalId: " \
                              "bad request"


# -- 5. error bodies ---------------------------------------------------------------------------


def test_error_messages_read_as_upstream(api: str, uniq: str) -> None:
    """Unknown fields give Go's decoder text and a missing name the RequiredError text
    (internal/server/openapi/api_model_registry_service.go DisallowUnknownFields,
    internal/server/openapi/error.go RequiredError)."""
    body = _post(f"{api}/registered_models", {"name": uniq, "ext_id": "x"}, 400)
    assert body == {"code": "Bad Request", "message": 'json: unknown field "ext_id"'}
    body = _post(f"{api}/registered_models", {"description": "no name"}, 422)
    assert body == {"code": "Bad Request", "message": "required field 'name' is zero value."}
    body = _post(f"{api}/model_versions", {"name": "v"}, 422)
    assert body["message"] == "required field 'registeredModelId' is zero value."


def test_body_keys_match_ignoring_case_as_go_decodes_them(api: str, uniq: str) -> None:
    """A key that names a field only when case is ignored is that field, as Go's
    encoding/json decodes it (upstream's robot tests send ``registeredModelID``); a key that
    names no field, in any case, stays an unknown field."""
    rm = _post(f"{api}/registered_models", {"NAME": uniq, "Description": "d"}, 201)
    assert (rm["name"], rm["description"]) == (uniq, "d")
    mv = _post(f"{api}/model_versions", {"name": "v1", "registeredModelID": rm["id"]}, 201)
    assert mv["registeredModelId"] == rm["id"]
    ma = _post(f"{api}/model_versions/{mv['id']}/artifacts",
               {"artifactType": "model-artifact", "URI": "s3://b/x", "modelformatname": "onnx"},
               201)
    assert (ma["uri"], ma["modelFormatName"]) == ("s3://b/x", "onnx")
    assert _patch(f"{api}/registered_models/{rm['id']}", {"DESCRIPTION": "new"},
                  200)["description"] == "new"
    body = _patch(f"{api}/registered_models/{rm['id']}", {"NaMe": "x"}, 400)
    assert body["message"] == 'json: unknown field "NaMe"'


# -- 6. experiments ----------------------------------------------------------------------------


def test_experiment_routes_are_not_served(shared: Any) -> None:
    """Experiment routes answer a JSON 404 on v1 and v1alpha3 (documented in docs/rest.md)."""
    for version in ("v1", "v1alpha3"):
        base = f"{shared.url}/api/model_registry/{version}"
        assert requests.get(f"{base}/registered_models", timeout=TIMEOUT).status_code == 200
        for path in ("/experiments", "/experiment_runs", "/experiments/1/experiment_runs"):
            r = requests.get(base + path, timeout=TIMEOUT)
            assert (r.status_code, r.json()["code"]) == (404, "Not Found"), r.text
        r = requests.post(f"{base}/experiments", json={"name": "e"}, timeout=TIMEOUT)
        assert r.status_code == 404, r.text
    body = _post(f"{shared.api}/model_artifacts", {"name": "x", "experimentId": "1"}, 400)
    assert body["message"] == 'json: unknown field "experimentId"'
