"""The test-only quirks emulation of ``localhub serve`` (``LOCALHUB_SERVE_QUIRKS``), by raw HTTP.

Each quirk is shown on a quirky server and, where the default differs, against the module's
faithful server (``api`` fixture) so that a quirk switched on by default would fail here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.clock import ServerClock
from tests.support.processes import free_port, start_serve, stop

API = "/api/model_registry/v1"
FAILS = ("fail=POST:/api/model_registry/v1/registered_models:name=bad*,"
         "fail=GET:*/registered_models/999,fail=*:*/serving_environments")
_names = count(1)


class Quirky:
    """A running quirky ``serve``: v1 base URL, log and (when it has one) clock."""

    def __init__(self, api: str, log: Path, clock: ServerClock | None) -> None:
        self.api = api
        self.log = log
        self.clock = clock


def _serve(tmp: Path, quirks: str, clock: ServerClock | None = None) -> Iterator[Quirky]:
    log = tmp / "serve.log"
    proc, port = start_serve(tmp, tmp / "r.db", log, quirks=quirks)
    try:
        yield Quirky(f"http://127.0.0.1:{port}{API}", log, clock)
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def go_like(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quirky]:
    """A server with the Go server's quirks, a steppable clock and chosen 500s."""
    tmp = tmp_path_factory.mktemp("quirky")
    clock = ServerClock(tmp / "clock")
    yield from _serve(tmp, f"no-etag,patch-resets-state,like-names,{clock.quirk},{FAILS}",
                      clock)


@pytest.fixture(scope="module")
def deaf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quirky]:
    """A server that sends ETags but does not honour If-Match."""
    yield from _serve(tmp_path_factory.mktemp("deaf"), "ignore-if-match")


def _name(stem: str = "q") -> str:
    return f"{stem}{next(_names)}-{time.monotonic_ns()}"


def _model(api: str, name: str, **extra: Any) -> dict[str, Any]:
    reply = requests.post(f"{api}/registered_models", json={"name": name, **extra}, timeout=10)
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _version(api: str, model_id: str, name: str) -> dict[str, Any]:
    reply = requests.post(f"{api}/model_versions",
                          json={"name": name, "registeredModelId": model_id}, timeout=10)
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _patch(api: str, path: str, body: dict[str, Any], **headers: str) -> requests.Response:
    return requests.patch(f"{api}{path}", json=body, headers=headers, timeout=10)


def test_startup_names_each_quirk_on_stderr(go_like: Quirky) -> None:
    """A quirky serve says on stderr, one line each, which quirks it emulates."""
    text = go_like.log.read_text()
    for quirk in ("no-etag", "patch-resets-state", "like-names", "clock-file=",
                  "fail=POST:/api/model_registry/v1/registered_models:name=bad*"):
        assert re.search(rf"WARNING: LOCALHUB_SERVE_QUIRKS: .*{re.escape(quirk)}", text), text


def test_no_etag_and_if_match_ignored(go_like: Quirky, api: str) -> None:
    """With no-etag no answer carries an ETag and a stale If-Match still writes."""
    for base in (go_like.api, api):
        model = _model(base, _name())
        got = requests.get(f"{base}/registered_models/{model['id']}", timeout=10)
        stale = _patch(base, f"/registered_models/{model['id']}",
                       {"description": "x", "state": "LIVE"}, **{"If-Match": '"stale"'})
        if base == go_like.api:
            assert "ETag" not in got.headers and "ETag" not in stale.headers
            assert stale.status_code == 200 and stale.json()["description"] == "x"
        else:  # the faithful server: tags, and a stale one refused
            assert got.headers["ETag"].startswith('"')
            assert stale.status_code == 412


def test_ignore_if_match_still_sends_etag(deaf: Quirky) -> None:
    """With ignore-if-match the ETag is sent, yet a stale If-Match overwrites silently."""
    model = _model(deaf.api, _name())
    got = requests.get(f"{deaf.api}/registered_models/{model['id']}", timeout=10)
    assert got.headers["ETag"].startswith('"')
    stale = _patch(deaf.api, f"/registered_models/{model['id']}",
                   {"description": "theirs lost", "state": "LIVE"}, **{"If-Match": '"stale"'})
    assert stale.status_code == 200, stale.text
    assert stale.json()["description"] == "theirs lost"
    assert stale.headers["ETag"] != got.headers["ETag"]


def test_patch_without_state_resets_it(go_like: Quirky, api: str) -> None:
    """PATCH without state un-archives a model and version and resets a model artifact."""
    for base, quirky in ((go_like.api, True), (api, False)):
        model = _model(base, _name())
        version = _version(base, model["id"], "v1")
        art = requests.post(f"{base}/model_versions/{version['id']}/artifacts",
                            json={"artifactType": "model-artifact", "name": "a",
                                  "uri": "s3://b/a", "state": "LIVE"}, timeout=10).json()
        cases = [(f"/registered_models/{model['id']}", "ARCHIVED", "LIVE"),
                 (f"/model_versions/{version['id']}", "ARCHIVED", "LIVE"),
                 (f"/model_artifacts/{art['id']}", "LIVE", "UNKNOWN")]
        for path, set_to, default in cases:
            assert _patch(base, path, {"state": set_to}).json()["state"] == set_to
            after = _patch(base, path, {"description": "no state sent"})
            assert after.status_code == 200, after.text
            assert after.json()["state"] == (default if quirky else set_to), path
        # The generic artifact route keeps the state, as upstream's.
        generic = _patch(base, f"/artifacts/{art['id']}",
                         {"artifactType": "model-artifact", "state": "LIVE"})
        assert generic.json()["state"] == "LIVE"
        kept = _patch(base, f"/artifacts/{art['id']}",
                      {"artifactType": "model-artifact", "description": "d"})
        assert kept.json()["state"] == "LIVE"


def test_like_lookup_returns_lower_id_match(go_like: Quirky, api: str) -> None:
    """A lookup of ``a_b`` answers ``axb`` when that was created first; exact on the default."""
    stem = _name("like")
    for base in (go_like.api, api):
        first = _model(base, f"{stem}axb")
        second = _model(base, f"{stem}a_b")
        got = requests.get(f"{base}/registered_model", params={"name": f"{stem}a_b"},
                           timeout=10)
        assert got.status_code == 200, got.text
        expected = first if base == go_like.api else second
        assert got.json()["id"] == expected["id"]
        pct = requests.get(f"{base}/registered_model", params={"name": f"{stem}a%"},
                           timeout=10)
        if base == go_like.api:
            assert pct.json()["id"] == first["id"]
        else:
            assert pct.status_code == 404


def _like(pattern: str, name: str) -> bool:
    """SQL LIKE (case-sensitive, no escape character) as a reference."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.DOTALL) is not None


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text("ab_%", min_size=1, max_size=4), min_size=1, max_size=4,
                      unique=True),
       pattern=st.text("ab_%", min_size=1, max_size=4))
def test_like_version_lookup_matches_reference(go_like: Quirky, names: list[str],
                                               pattern: str) -> None:
    """A version lookup in a model answers the lowest-id version whose name LIKE-matches."""
    model = _model(go_like.api, _name("vl"))
    ids = {name: _version(go_like.api, model["id"], name)["id"] for name in names}
    got = requests.get(f"{go_like.api}/model_version",
                       params={"name": pattern, "parentResourceId": model["id"]}, timeout=10)
    matching = [name for name in names if _like(pattern, name)]
    if matching:
        assert got.status_code == 200, got.text
        assert got.json()["id"] == ids[matching[0]]
    else:
        assert got.status_code == 404


def test_clock_step_back_makes_new_entities_older(go_like: Quirky) -> None:
    """After the clock steps back 3 s, a new model's update time is below an earlier one's."""
    assert go_like.clock is not None
    before = _model(go_like.api, _name("clk"))
    go_like.clock.step(-3000)
    try:
        after = _model(go_like.api, _name("clk"))
        version = _version(go_like.api, after["id"], "v1")
    finally:
        go_like.clock.step(3000)
    assert int(after["lastUpdateTimeSinceEpoch"]) < int(before["lastUpdateTimeSinceEpoch"])
    assert int(after["createTimeSinceEpoch"]) < int(before["createTimeSinceEpoch"])
    assert int(version["lastUpdateTimeSinceEpoch"]) < int(before["lastUpdateTimeSinceEpoch"])
    later = _model(go_like.api, _name("clk"))  # the clock is back
    assert int(later["lastUpdateTimeSinceEpoch"]) >= int(before["lastUpdateTimeSinceEpoch"])


def test_chosen_requests_answer_500(go_like: Quirky, api: str) -> None:
    """Requests matching a fail= rule get a 500 and change nothing; others pass."""
    bad = _name("bad")
    refused = requests.post(f"{go_like.api}/registered_models", json={"name": bad},
                            timeout=10)
    assert refused.status_code == 500 and "emulated" in refused.json()["message"]
    assert requests.get(f"{go_like.api}/registered_model", params={"name": bad},
                        timeout=10).status_code == 404
    assert requests.post(f"{api}/registered_models", json={"name": bad},
                         timeout=10).status_code == 201
    _model(go_like.api, _name("good"))
    assert requests.get(f"{go_like.api}/registered_models/999",
                        timeout=10).status_code == 500
    assert requests.get(f"{go_like.api}/registered_models/998",
                        timeout=10).status_code == 404
    for method in ("GET", "POST"):
        reply = requests.request(method, f"{go_like.api}/serving_environments",
                                 json={"name": "se"}, timeout=10)
        assert reply.status_code == 500, method


def _serve_exit(quirks: str, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "localhub.cli", "serve", "--port", str(free_port()),
           "--db", ":memory:", *extra]

    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LOCALHUB_SERVE_QUIRKS": quirks})


@pytest.mark.parametrize("quirks,extra,says", [
    ("no-etags", (), "unknown quirk 'no-etags'"),
    ("clock-offset=soon", (), "not an integer"),
    ("fail=POST", (), "METHOD:PATH"),
    ("no-etag", ("--host", "0.0.0.0"), "non-loopback"),
])
def test_bad_quirks_refused_before_serving(quirks: str, extra: tuple[str, ...],
                                           says: str) -> None:
    """A misspelt quirk or one on a non-loopback address stops serve with a usage error."""
    done = _serve_exit(quirks, *extra)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "LOCALHUB_SERVE_QUIRKS" in done.stderr
