"""Listing over HTTP: paging, tokens, ordering and filterQuery."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.servers import Server


@pytest.fixture(scope="module")
def seeded(shared: Server) -> list[dict[str, Any]]:
    """Seven models named lst-0..lst-6 in a module server, some touched after creation."""
    out = []
    for i in range(7):
        r = requests.post(f"{shared.api}/registered_models",
                          json={"name": f"lst-{i}", "owner": "even" if i % 2 == 0 else "odd"},
                          timeout=10)
        out.append(r.json())
    for i in (4, 1):
        requests.patch(f"{shared.api}/registered_models/{out[i]['id']}",
                       json={"description": "touched"}, timeout=10)
    return out


def _walk(api: str, **params: Any) -> tuple[list[str], list[str]]:
    ids: list[str] = []
    tokens: list[str] = []
    token = ""
    while True:
        r = requests.get(f"{api}/registered_models", params={**params, "nextPageToken": token},
                         timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["size"] == len(body["items"])
        ids += [m["id"] for m in body["items"]]
        token = body["nextPageToken"]
        if not token:
            return ids, tokens
        tokens.append(token)


@pytest.mark.parametrize("order_by", ["ID", "CREATE_TIME", "LAST_UPDATE_TIME"])
@pytest.mark.parametrize("sort_order", ["ASC", "DESC"])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
def test_paging_sees_everything_once(shared: Server, seeded: list[dict[str, Any]],
                                     order_by: str, sort_order: str, size: int) -> None:
    """Walking the pages yields every item once, in order, and the same tokens twice."""
    params = {"pageSize": size, "orderBy": order_by, "sortOrder": sort_order}
    ids, tokens = _walk(shared.api, **params)
    everything = requests.get(f"{shared.api}/registered_models",
                              params={"orderBy": order_by, "sortOrder": sort_order}, timeout=10)
    assert everything.json()["nextPageToken"] == ""
    assert ids == [m["id"] for m in everything.json()["items"]]
    assert sorted(ids, key=int) == sorted((m["id"] for m in seeded), key=int)
    assert _walk(shared.api, **params) == (ids, tokens)
    key = {"ID": "id", "CREATE_TIME": "createTimeSinceEpoch",
           "LAST_UPDATE_TIME": "lastUpdateTimeSinceEpoch"}[order_by]
    items = everything.json()["items"]
    pairs = [(int(m[key]), int(m["id"])) for m in items]
    assert pairs == sorted(pairs, reverse=sort_order == "DESC")


def test_list_parameter_errors(shared: Server, seeded: list[dict[str, Any]]) -> None:
    """Bad orderBy, sortOrder, pageSize and tokens are 400; an empty token is the first page."""
    url = f"{shared.api}/registered_models"
    for params in ({"orderBy": "NAME"}, {"sortOrder": "UP"}, {"pageSize": "abc"},
                   {"pageSize": "99999999999"}, {"nextPageToken": "!!!"},
                   {"nextPageToken": "bm9wZQ=="}):
        r = requests.get(url, params=params, timeout=10)
        assert r.status_code == 400, params
        assert r.json()["code"] == "Bad Request"
    first = requests.get(url, params={"pageSize": "2"}, timeout=10).json()
    empty = requests.get(url, params={"pageSize": "2", "nextPageToken": ""}, timeout=10).json()
    assert first == empty and first["pageSize"] == 2 and first["size"] == 2


def test_filter_query(shared: Server, seeded: list[dict[str, Any]]) -> None:
    """filterQuery narrows lists; injection attempts are data, not SQL; bad syntax is 400."""
    url = f"{shared.api}/registered_models"

    def names(query: str) -> list[str]:
        r = requests.get(url, params={"filterQuery": query}, timeout=10)
        assert r.status_code == 200, r.text
        return [m["name"] for m in r.json()["items"]]

    assert names("name = 'lst-3'") == ["lst-3"]
    assert names("owner = 'odd' AND name LIKE 'lst-%'") == ["lst-1", "lst-3", "lst-5"]
    assert names("name IN ('lst-0', 'lst-6')") == ["lst-0", "lst-6"]
    assert names("description = 'touched'") == []  # description is a custom property name
    injected = requests.get(url, params={"filterQuery": "name = 'x'' OR 1=1 --'"}, timeout=10)
    assert injected.status_code == 400 and "position 10" in injected.json()["message"]
    assert names("name = 'x\\' OR 1=1 --'") == []
    assert names("name = 'lst-1\"; DROP TABLE contexts; --'") == []
    assert len(names("name LIKE 'lst-%'")) == 7  # the table survived
    for bad in ("name = ", "name === 'x'", "(name = 'x'", "name = 'x' AND", "1=1"):
        r = requests.get(url, params={"filterQuery": bad}, timeout=10)
        assert r.status_code == 400, bad
        assert r.json()["code"] == "Bad Request" and "filterQuery" in r.json()["message"]


def test_filter_with_paging(shared: Server, seeded: list[dict[str, Any]]) -> None:
    """filterQuery and paging combine."""
    ids, _tokens = _walk(shared.api, pageSize=1, filterQuery="owner = 'even'")
    assert len(ids) == 4
