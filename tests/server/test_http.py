"""Raw HTTP behaviour of ``localhub serve``: status codes, error bodies, PATCH, ETags, lists."""

from __future__ import annotations

import base64
import json
from http import HTTPStatus
from typing import Any

import pytest
import requests

from tests.support.servers import TOKEN, Server

ALPHA = "/api/model_registry/v1alpha3"


def _post(url: str, body: Any) -> requests.Response:
    return requests.post(url, json=body, timeout=10)


def _rm(api: str, name: str, **extra: Any) -> dict[str, Any]:
    r = _post(f"{api}/registered_models", {"name": name, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _mv(api: str, rm_id: str, name: str, **extra: Any) -> dict[str, Any]:
    r = _post(f"{api}/model_versions", {"name": name, "registeredModelId": rm_id, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _error(r: requests.Response, status: int, code: str | None = None) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == (code or HTTPStatus(status).phrase)
    return str(body["message"])


def test_create_and_get_registered_model(api: str, uniq: str) -> None:
    """POST answers 201 with ids/times as strings; GET answers 200 with the same entity."""
    r = _post(f"{api}/registered_models", {"name": uniq, "owner": "o", "language": ["en"]})
    assert r.status_code == 201
    body = r.json()
    assert body["id"].isdigit() and body["createTimeSinceEpoch"].isdigit()
    assert body["createTimeSinceEpoch"] == body["lastUpdateTimeSinceEpoch"]
    assert body["state"] == "LIVE" and body["customProperties"] == {}
    assert body["language"] == ["en"] and body["owner"] == "o"
    got = requests.get(f"{api}/registered_models/{body['id']}", timeout=10)
    assert got.status_code == 200 and got.json() == body
    assert got.headers["ETag"] == r.headers["ETag"]


def test_not_found_and_bad_ids(api: str, uniq: str) -> None:
    """Missing ids are 404; malformed or > int32 ids are 400; an MV id on the RM route is 404."""
    rm = _rm(api, uniq)
    mv = _mv(api, rm["id"], "v1")
    assert "not found" in _error(requests.get(f"{api}/registered_models/99999", timeout=10),
                                 404, "Not Found")
    _error(requests.get(f"{api}/registered_models/{mv['id']}", timeout=10), 404, "Not Found")
    for bad in ("abc", "0", "-1", "2147483648", "99999999999", "1.5"):
        _error(requests.get(f"{api}/registered_models/{bad}", timeout=10), 400, "Bad Request")


def test_conflicts(api: str, uniq: str) -> None:
    """A taken name or externalId is 409; the same version name in two models is fine."""
    a = _rm(api, uniq, externalId=f"ext-{uniq}")
    _error(_post(f"{api}/registered_models", {"name": uniq}), 409, "Conflict")
    _error(_post(f"{api}/registered_models", {"name": uniq + "b", "externalId": f"ext-{uniq}"}),
           409, "Conflict")
    b = _rm(api, uniq + "c")
    _mv(api, a["id"], "v1")
    _mv(api, b["id"], "v1")
    _error(_post(f"{api}/model_versions", {"name": "v1", "registeredModelId": a["id"]}),
           409, "Conflict")


def test_body_errors(api: str, uniq: str) -> None:
    """Unknown fields, bad JSON, wrong types and NUL bytes are 400; a missing name is 422."""
    _error(_post(f"{api}/registered_models", {"name": uniq, "bogus": 1}), 400, "Bad Request")
    _error(_post(f"{api}/registered_models", {"name": uniq, "id": "5"}), 400, "Bad Request")
    _error(requests.post(f"{api}/registered_models", data=b"{not json", timeout=10,
                         headers={"Content-Type": "application/json"}), 400, "Bad Request")
    _error(_post(f"{api}/registered_models", ["x"]), 400, "Bad Request")
    _error(_post(f"{api}/registered_models", {"name": 5}), 400, "Bad Request")
    _error(_post(f"{api}/registered_models", {"name": uniq, "state": "GONE"}), 400)
    _error(_post(f"{api}/registered_models", {"name": "a\x00b"}), 400, "Bad Request")
    _error(requests.get(f"{api}/registered_models?filterQuery=name%3D%27%00%27", timeout=10),
           400, "Bad Request")
    _error(_post(f"{api}/registered_models", {"description": "no name"}), 422, "Bad Request")
    _error(_post(f"{api}/registered_models", {"name": ""}), 422, "Bad Request")
    _error(_post(f"{api}/model_versions", {"name": "v"}), 422, "Bad Request")
    _error(_post(f"{api}/model_versions", {"name": "v", "registeredModelId": "99999"}), 404)


def _prop(kind: str, **payload: Any) -> dict[str, Any]:
    return {"metadataType": kind, **payload}


def test_custom_property_checks(api: str, uniq: str) -> None:
    """Ten-digit ints, proto values, unknown kinds and bad base64 structs are 400."""
    bad = [
        _prop("MetadataIntValue", int_value="1234567890"),
        _prop("MetadataIntValue", int_value=5),
        _prop("MetadataProtoValue", type="t", proto_value="AAAA"),
        _prop("MetadataFooValue", foo_value="x"),
        _prop("MetadataStructValue", struct_value="not base64!"),
        _prop("MetadataStructValue", struct_value=base64.b64encode(b"[1]").decode()),
        _prop("MetadataBoolValue", bool_value="true"),
        _prop("MetadataStringValue", string_value="x", extra=1),
        "plain",
    ]
    for value in bad:
        r = _post(f"{api}/registered_models", {"name": uniq, "customProperties": {"k": value}})
        _error(r, 400, "Bad Request")
    ok = _post(f"{api}/registered_models", {"name": uniq, "customProperties": {
        "i": _prop("MetadataIntValue", int_value="-999999999"),
        "d": _prop("MetadataDoubleValue", double_value=1.5),
        "b": _prop("MetadataBoolValue", bool_value=False),
        "s": _prop("MetadataStringValue", string_value="x"),
    }})
    assert ok.status_code == 201
    assert ok.json()["customProperties"]["i"] == _prop("MetadataIntValue", int_value="-999999999")


def test_struct_round_trip(api: str, uniq: str) -> None:
    """A struct goes in as base64 of JSON and comes back as the raw JSON text."""
    obj = {"layers": [1, 2], "name": "x"}
    encoded = base64.b64encode(json.dumps(obj).encode()).decode()
    r = _post(f"{api}/registered_models", {"name": uniq, "customProperties": {
        "cfg": _prop("MetadataStructValue", struct_value=encoded)}})
    assert r.status_code == 201
    out = r.json()["customProperties"]["cfg"]
    assert out["metadataType"] == "MetadataStructValue"
    assert json.loads(out["struct_value"]) == obj
    # Echoing the output form back is not base64: 400, as on the Go server.
    r2 = requests.patch(f"{api}/registered_models/{r.json()['id']}",
                        json={"customProperties": {"cfg": out}}, timeout=10)
    _error(r2, 400)


def test_patch_semantics(api: str, uniq: str) -> None:
    """PATCH overlays given fields, replaces customProperties whole and keeps an omitted state."""
    rm = _rm(api, uniq, description="d", customProperties={
        "a": _prop("MetadataStringValue", string_value="1"),
        "b": _prop("MetadataStringValue", string_value="2")})
    url = f"{api}/registered_models/{rm['id']}"
    r = requests.patch(url, json={"state": "ARCHIVED"}, timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "ARCHIVED"
    assert r.json()["description"] == "d" and set(r.json()["customProperties"]) == {"a", "b"}
    r = requests.patch(url, json={"owner": "o", "customProperties": {
        "c": _prop("MetadataIntValue", int_value="3")}}, timeout=10)
    body = r.json()
    assert body["state"] == "ARCHIVED"  # not reset to LIVE (deliberate difference)
    assert body["owner"] == "o" and body["description"] == "d"
    assert body["customProperties"] == {"c": _prop("MetadataIntValue", int_value="3")}
    r = requests.patch(url, json={"description": None, "customProperties": {}}, timeout=10)
    assert r.json()["description"] == "d" and r.json()["customProperties"] == {}
    for immutable in ({"name": "x"}, {"id": "1"}, {"createTimeSinceEpoch": "1"}):
        _error(requests.patch(url, json=immutable, timeout=10), 400, "Bad Request")
    mv = _mv(api, rm["id"], "v1", state="ARCHIVED")
    r = requests.patch(f"{api}/model_versions/{mv['id']}", json={"author": "x"}, timeout=10)
    assert r.json()["state"] == "ARCHIVED" and r.json()["author"] == "x"
    _error(requests.patch(f"{api}/model_versions/{mv['id']}",
                          json={"registeredModelId": "1"}, timeout=10), 400)
    _error(requests.patch(f"{api}/registered_models/99999", json={}, timeout=10), 404)


def test_etag_and_if_match(api: str, uniq: str) -> None:
    """Every update changes the ETag (even within one ms); a stale If-Match gets 412 + entity."""
    rm = _rm(api, uniq)
    url = f"{api}/registered_models/{rm['id']}"
    tag0 = requests.get(url, timeout=10).headers["ETag"]
    assert requests.get(url, timeout=10).headers["ETag"] == tag0
    tags = {tag0}
    for i in range(5):
        r = requests.patch(url, json={"description": f"d{i}"}, timeout=10)
        tags.add(r.headers["ETag"])
    assert len(tags) == 6
    current = requests.get(url, timeout=10)
    stale = requests.patch(url, json={"description": "lost"}, headers={"If-Match": tag0},
                           timeout=10)
    assert stale.status_code == 412
    assert stale.json() == current.json() and stale.headers["ETag"] == current.headers["ETag"]
    ok = requests.patch(url, json={"description": "won"},
                        headers={"If-Match": current.headers["ETag"]}, timeout=10)
    assert ok.status_code == 200 and ok.json()["description"] == "won"
    star = requests.patch(url, json={"description": "any"}, headers={"If-Match": "*"},
                          timeout=10)
    assert star.status_code == 200


def test_auth(token_server: Server) -> None:
    """With a token, API calls need it (401 JSON + WWW-Authenticate otherwise); health is open."""
    url = f"{token_server.api}/registered_models"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}):
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 401
        assert r.json() == {"code": "Unauthorized", "message": "missing or invalid bearer token"}
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    ok = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert ok.status_code == 200 and ok.json()["items"] == []
    assert requests.get(f"{token_server.url}/readyz/health", timeout=10).status_code == 200
    assert requests.get(f"{token_server.url}/readyz/isDirty", timeout=10).status_code == 200
    assert TOKEN not in token_server.log()
    assert "GET /api/model_registry/v1/registered_models 401" in token_server.log()


def test_no_auth_without_token(api: str) -> None:
    """Without --token-env any or no Authorization header is accepted."""
    assert requests.get(f"{api}/registered_models", timeout=10).status_code == 200
    r = requests.get(f"{api}/registered_models", headers={"Authorization": "Bearer x"},
                     timeout=10)
    assert r.status_code == 200


def test_routes_errors(api: str) -> None:
    """Unknown routes are a JSON 404, wrong methods a JSON 405 whose Allow names every method
    the path serves."""
    _error(requests.get(f"{api}/nothing_here", timeout=10), 404, "Not Found")
    _error(requests.delete(f"{api}/registered_models", timeout=10), 405, "Method Not Allowed")
    _error(requests.put(f"{api}/registered_models/1", json={}, timeout=10), 405,
           "Method Not Allowed")
    for path, allowed in (("registered_models", "GET, POST"),
                          ("registered_models/1", "GET, PATCH"),
                          ("model_versions/1/artifacts", "GET, POST"),
                          ("registered_model", "GET")):
        for method in ("PUT", "DELETE", "OPTIONS"):
            reply = requests.request(method, f"{api}/{path}", timeout=10)
            assert (reply.status_code, reply.headers["Allow"]) == (405, allowed), (method, path)


def test_find_one(api: str, uniq: str) -> None:
    """Find-one matches names exactly, needs name or externalId, and 404s on no match."""
    rm = _rm(api, f"{uniq}_x%", externalId=f"e-{uniq}")
    _rm(api, f"{uniq}ax%")
    r = requests.get(f"{api}/registered_model", params={"name": f"{uniq}_x%"}, timeout=10)
    assert r.status_code == 200 and r.json()["id"] == rm["id"] and "ETag" in r.headers
    r = requests.get(f"{api}/registered_model", params={"externalId": f"e-{uniq}"}, timeout=10)
    assert r.json()["id"] == rm["id"]
    _error(requests.get(f"{api}/registered_model", params={"name": f"{uniq}%"}, timeout=10), 404)
    _error(requests.get(f"{api}/registered_model", timeout=10), 400, "Bad Request")
    mv = _mv(api, rm["id"], "v1")
    r = requests.get(f"{api}/model_version", params={"name": "v1", "parentResourceId": rm["id"]},
                     timeout=10)
    assert r.json()["id"] == mv["id"]
    _error(requests.get(f"{api}/model_version", params={"name": "v1"}, timeout=10), 400)
    _error(requests.get(f"{api}/model_version",
                        params={"name": "v1", "parentResourceId": "x"}, timeout=10), 400)


def test_child_lists(api: str, uniq: str) -> None:
    """Versions of a missing model are an empty 200 list; name/externalId narrow child lists."""
    r = requests.get(f"{api}/registered_models/99998/versions", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"items": [], "nextPageToken": "", "pageSize": 0, "size": 0}
    rm = _rm(api, uniq)
    _mv(api, rm["id"], "a")
    _mv(api, rm["id"], "b", externalId=f"x-{uniq}")
    url = f"{api}/registered_models/{rm['id']}/versions"
    assert [v["name"] for v in requests.get(url, timeout=10).json()["items"]] == ["a", "b"]
    assert [v["name"] for v in requests.get(url, params={"name": "b"}, timeout=10)
            .json()["items"]] == ["b"]
    assert [v["name"] for v in requests.get(url, params={"externalId": f"x-{uniq}"}, timeout=10)
            .json()["items"]] == ["b"]
    r = requests.post(url, json={"name": "c", "registeredModelId": "1", "id": "77"}, timeout=10)
    assert r.status_code == 201 and r.json()["registeredModelId"] == rm["id"]


def test_v1alpha3_aliases(shared: Server, uniq: str) -> None:
    """The same data is served under /v1alpha3 with the alpha path parameter names."""
    base = shared.url + ALPHA
    r = _post(f"{base}/registered_models", {"name": uniq})
    assert r.status_code == 201
    rm_id = r.json()["id"]
    assert requests.get(f"{shared.api}/registered_models/{rm_id}", timeout=10).json() == r.json()
    mv = _post(f"{base}/registered_models/{rm_id}/versions",
               {"name": "v1", "registeredModelId": rm_id})
    assert mv.status_code == 201
    art = _post(f"{base}/model_versions/{mv.json()['id']}/artifacts",
                {"artifactType": "model-artifact", "uri": "s3://x"})
    assert art.status_code == 201
    assert requests.get(f"{base}/model_artifacts/{art.json()['id']}",
                        timeout=10).json() == art.json()
    assert requests.get(f"{base}/artifacts/{art.json()['id']}", timeout=10).status_code == 200
    _error(requests.get(f"{base}/model_versions/nope", timeout=10), 400)


def test_access_log(shared: Server, uniq: str) -> None:
    """One line per request with method, path, status and duration; no query string."""
    requests.get(f"{shared.api}/registered_models", params={"nextPageToken": uniq}, timeout=10)
    lines = [ln for ln in shared.log().splitlines() if "GET /api/model_registry/v1/" in ln]
    assert lines and all(ln.rstrip().endswith("ms") for ln in lines)
    assert uniq not in shared.log()


def test_health(shared: Server) -> None:
    """Health endpoints answer 200."""
    assert requests.get(f"{shared.url}/readyz/health", timeout=10).status_code == 200
    assert requests.get(f"{shared.url}/readyz/isDirty", timeout=10).status_code == 200


@pytest.mark.parametrize("path", ["/registered_models", "/model_versions", "/artifacts",
                                  "/model_artifacts", "/serving_environments",
                                  "/inference_services"])
def test_every_list_has_the_envelope(api: str, path: str) -> None:
    """Every collection answers the four-key list envelope."""
    r = requests.get(api + path, params={"pageSize": "2"}, timeout=10)
    assert r.status_code == 200
    assert set(r.json()) == {"items", "nextPageToken", "pageSize", "size"}
    assert r.json()["pageSize"] == 2


def test_noop_patch_keeps_time_and_etag(api: str, uniq: str) -> None:
    """A PATCH that changes nothing keeps lastUpdateTimeSinceEpoch and the ETag."""
    rm = _rm(api, uniq, description="d")
    url = f"{api}/registered_models/{rm['id']}"
    before = requests.get(url, timeout=10)
    after = requests.patch(url, json={"description": "d", "state": "LIVE"}, timeout=10)
    assert after.status_code == 200
    assert after.json()["lastUpdateTimeSinceEpoch"] == rm["lastUpdateTimeSinceEpoch"]
    assert after.headers["ETag"] == before.headers["ETag"]
