"""Verified links (issue #11 items 1 and 4): a stored remote id is checked before any write,
and the one-request conditional update is used only where a stale If-Match was refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localhub.errors import RemoteIdentityError
from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, SyncReport, list_conflicts, resolve, sync_status
from localhub.sync.ifmatch import KEY as IF_MATCH
from localhub.types import ModelVersion, RegisteredModel

from tests.support.processes import free_port, start_serve, stop
from tests.support.servers import API, start_serve_on
from tests.support.sync_env import Env


def _sync(store: SQLiteStore, url: str, **options: bool) -> SyncReport:
    with SyncEngine(store, url, sleep=lambda _s: None) as engine:
        return engine.run(**options)


def _patch(url: str, path: str, body: dict[str, object]) -> None:
    """Another user's edit, straight over REST."""
    requests.patch(url + API + path, json=body, timeout=10).raise_for_status()


def _get(url: str, path: str) -> Any:
    """A GET of the REST API as JSON."""
    resp = requests.get(url + API + path, timeout=10)
    resp.raise_for_status()
    return resp.json()


def _verdict(store: SQLiteStore, url: str) -> object:
    with store.db.read() as conn:
        row = conn.execute("SELECT value FROM sync_state WHERE remote = ? AND key = ?",
                           (url, IF_MATCH)).fetchone()
    return None if row is None else json.loads(row[0])["honoured"]


class Restorable:
    """A serve on a fixed port whose database can be swapped for an older copy."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp, self.port = tmp_path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = tmp_path / "remote.db"
        self.proc = start_serve_on(self.port, tmp_path / "home", self.db, tmp_path / "s.log")

    def backup(self) -> Path:
        copy = self.tmp / "backup.db"
        stop(self.proc)  # a consistent copy: the server is down while its files are copied
        for suffix in ("", "-wal"):
            if Path(str(self.db) + suffix).exists():
                shutil.copy(str(self.db) + suffix, str(copy) + suffix)
        self.proc = start_serve_on(self.port, self.tmp / "home", self.db, self.tmp / "s.log")
        return copy

    def restore(self, copy: Path) -> None:
        stop(self.proc)
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.db) + suffix).unlink(missing_ok=True)
            if suffix != "-shm" and Path(str(copy) + suffix).exists():
                shutil.copy(str(copy) + suffix, str(self.db) + suffix)
        self.proc = start_serve_on(self.port, self.tmp / "home", self.db, self.tmp / "s2.log")


@pytest.fixture
def restorable(tmp_path: Path) -> Iterator[Restorable]:
    srv = Restorable(tmp_path)
    try:
        yield srv
    finally:
        stop(srv.proc)


def test_reused_version_id_is_a_remote_mismatch_and_ours_recreates(
        restorable: Restorable, tmp_path: Path) -> None:
    """A restored backup that reuses a version's id gets no write: remote-mismatch, link kept,
    shown by status; `ours` re-creates the version and its artifact under a new id."""
    url = restorable.url
    store = SQLiteStore(tmp_path / "a.db")
    store.register_model("m", "s3://b/m1", version="v1")
    assert _sync(store, url).created == 3
    copy = restorable.backup()
    _rm, mv2, _art = store.register_model("m", "s3://b/m2", version="v2")
    assert _sync(store, url).created == 2
    restorable.restore(copy)
    # Someone else registers a version on the restored server: it takes v2's old ids.
    other = SQLiteStore(tmp_path / "other.db")
    other.register_model("m", "s3://b/m1", version="v1")
    assert _sync(other, url).adopted == 3
    other.register_model("m", "s3://x/theirs", version="v7")
    assert _sync(other, url).created == 2
    with store.db.read() as conn:
        linked = conn.execute("SELECT remote_id FROM sync_links WHERE entity_uid = (SELECT uid "
                              "FROM contexts WHERE id = ?)", (int(mv2.id or 0),)).fetchone()[0]
    assert _get(url, f"/model_versions/{linked}")["name"] == "v7"  # the id was reused

    mv2 = store.get(ModelVersion, mv2.id)
    mv2.description = "mine"
    mv2.custom_properties = {"k": "v"}
    store.update(mv2)
    report = _sync(store, url)
    assert (report.updated, report.conflicts) == (0, 1)
    theirs = _get(url, f"/model_versions/{linked}")
    assert theirs.get("description") is None and not theirs.get("customProperties")
    [conflict] = list_conflicts(store)
    assert conflict.kind == "remote-mismatch" and conflict.remote_id == linked
    assert "'v7', not 'v2'" in (conflict.message or "")
    status = sync_status(store)
    assert [m["conflict"] for m in status["mismatched"]] == [conflict.id]
    assert [c.op for c in store.pending()] == ["update"]  # nothing acknowledged
    with store.db.read() as conn:  # the link is kept for the user to decide
        assert conn.execute("SELECT count(*) FROM sync_links WHERE remote_id = ? AND "
                            "entity_table = 'contexts'", (linked,)).fetchone()[0] == 1
    assert _sync(store, url).updated == 0  # a second run writes nothing either

    resolve(store, conflict.id, "ours")
    report = _sync(store, url)
    assert report.created == 2 and report.conflicts == 0, report
    remote = RemoteRegistry(url)
    try:
        model = remote.find_model("m")
        assert model is not None
        found = remote.find_version("v2", str(model.entity.id))
        assert found is not None and found.entity.description == "mine"
        assert str(found.entity.id) != linked
        assert remote.find_artifact("m", str(found.entity.id), "model-artifact") is not None
    finally:
        remote.close()
    assert _get(url, f"/model_versions/{linked}").get("description") is None
    assert sync_status(store)["mismatched"] == []
    store.close()
    other.close()


def test_theirs_drops_the_link_and_queued_changes(restorable: Restorable,
                                                  tmp_path: Path) -> None:
    """`theirs` on a remote-mismatch drops the link and the queued change; nothing written."""
    url = restorable.url
    store = SQLiteStore(tmp_path / "a.db")
    store.register_model("m", "s3://b/m1", version="v1")
    _sync(store, url)
    copy = restorable.backup()
    _rm, mv2, _art = store.register_model("m", "s3://b/m2", version="v2")
    _sync(store, url)
    restorable.restore(copy)
    other = SQLiteStore(tmp_path / "other.db")
    other.register_model("m", "s3://b/m1", version="v1")
    _sync(other, url)
    other.register_model("m", "s3://x/theirs", version="v7")
    _sync(other, url)
    mv2 = store.get(ModelVersion, mv2.id)
    mv2.description = "mine"
    store.update(mv2)
    assert _sync(store, url).conflicts == 1
    [conflict] = list_conflicts(store)
    resolve(store, conflict.id, "theirs")
    assert store.pending() == []
    report = _sync(store, url)
    assert report.conflicts == 0 and report.updated == 0
    assert all(v.get("description") != "mine" for v in
               _get(url, "/model_versions")["items"])
    store.close()
    other.close()


def test_server_restored_before_our_newest_model_stops_the_run(restorable: Restorable,
                                                                tmp_path: Path) -> None:
    """A server restored to before our newest model existed stops the run: went back in time."""
    url = restorable.url
    store = SQLiteStore(tmp_path / "a.db")
    store.register_model("first", "s3://b/f", version="v1")
    _sync(store, url)
    copy = restorable.backup()
    rm, _mv, _art = store.register_model("second", "s3://b/s", version="v1")
    _sync(store, url)
    restorable.restore(copy)
    other = SQLiteStore(tmp_path / "other.db")
    other.register_model("someone", "s3://x/y", version="v1")
    _sync(other, url)  # takes second's old ids
    rm = store.get(RegisteredModel, rm.id)
    rm.description = "mine"
    store.update(rm)
    with pytest.raises(RemoteIdentityError) as info:
        _sync(store, url)
    assert "went back in time" in str(info.value)
    assert f"localhub remote reset {url} --requeue" in str(info.value)
    assert _get(url, "/registered_model?name=someone").get("description") is None
    store.close()
    other.close()


@pytest.mark.own_server  # sets its own quirks
def test_server_ignoring_if_match_gets_get_compare_patch(tmp_path: Path) -> None:
    """A server that sends ETags but ignores If-Match: the probe finds out, and an edit by
    someone else is merged (a conflict), never overwritten."""
    proc, port = start_serve(tmp_path, tmp_path / "r.db", tmp_path / "s.log",
                             quirks="ignore-if-match")
    url = f"http://127.0.0.1:{port}"
    store = SQLiteStore(tmp_path / "a.db")
    try:
        rm, _mv, _art = store.register_model("m", "s3://b/m", version="v1")
        _sync(store, url)
        mid = str(_get(url, "/registered_model?name=m")["id"])
        for round_, field in enumerate(("description", "owner")):
            _patch(url, f"/registered_models/{mid}",
                   {field: f"theirs-{round_}", "customProperties": {
                       "k": {"metadataType": "MetadataStringValue",
                             "string_value": f"theirs-{round_}"}}, "state": "LIVE"})
            rm = store.get(RegisteredModel, rm.id)
            setattr(rm, field, f"mine-{round_}")
            rm.custom_properties = {"k": f"mine-{round_}"}
            store.update(rm)
            report = _sync(store, url, pull=False)
            assert report.conflicts == 1 and report.updated == 0, report
            now = _get(url, f"/registered_models/{mid}")
            assert now[field] == f"theirs-{round_}"
            assert now["customProperties"]["k"]["string_value"] == f"theirs-{round_}"
            assert _verdict(store, url) is False
            for c in list_conflicts(store):
                resolve(store, c.id, "theirs")
    finally:
        store.close()
        stop(proc)


@pytest.mark.own_server  # needs our ETags
def test_proxy_dropping_if_match(env: Env) -> None:
    """Behind a proxy that strips If-Match the probe sees no 412: GET-compare-PATCH, and a
    proven verdict is withdrawn by the first answer showing a change we did not send."""
    a = env.store("a")
    rm, _mv, _art = a.register_model("m", "s3://b/m", version="v1")
    env.sync("a")
    rm = a.get(RegisteredModel, rm.id)
    rm.description = "one"
    a.update(rm)
    env.proxy.reset()
    assert env.sync("a", pull=False).updated == 1
    # First update on this remote: GET, the stale-tag probe (412), the conditional PATCH.
    assert [(m, s) for m, _p, s in env.proxy.log()][1:] == [("GET", 200), ("PATCH", 412),
                                                            ("PATCH", 200)]
    assert _verdict(a, env.proxy.url) is True
    # The proxy starts stripping If-Match; someone edits the owner meanwhile.
    env.proxy.mode(drop_if_match=True)
    _patch(env.server.url, "/registered_models/1", {"owner": "theirs", "state": "LIVE"})
    rm = a.get(RegisteredModel, rm.id)
    rm.description = "two"
    a.update(rm)
    env.sync("a", pull=False)
    assert _verdict(a, env.proxy.url) is False  # the answer showed their owner: not proven
    _patch(env.server.url, "/registered_models/1", {"description": "theirs", "state": "LIVE"})
    rm = a.get(RegisteredModel, rm.id)
    rm.description = "three"
    a.update(rm)
    env.proxy.reset()
    env.proxy.mode(drop_if_match=True)
    report = env.sync("a", pull=False)
    assert report.conflicts == 1 and report.updated == 0
    assert env.server.model("m")["description"] == "theirs"
    assert [m for m, _p, _s in env.proxy.log()][1:] == ["GET"]
