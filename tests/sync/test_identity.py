"""Remote identity pinning and the one upstream per database, against real serve processes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from localhub.errors import RemoteIdentityError, SyncUpstreamError
from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, reset_remote, sync_status
from localhub.types import ModelArtifact, RegisteredModel

from tests.support.processes import free_port, stop
from tests.support.servers import start_serve_on
from tests.support.sync_env import Env


def _sync(store: SQLiteStore, url: str, **run: bool):  # type: ignore[no-untyped-def]
    with SyncEngine(store, url, sleep=lambda _s: None) as engine:
        return engine.run(**run)


def _remote_models(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute(
            "SELECT name FROM contexts WHERE kind = 'registered-model' ORDER BY id")]
    finally:
        conn.close()


@pytest.mark.parametrize("other_content", [False, True])
def test_recreated_server_on_same_url_is_refused_until_reset(tmp_path: Path,
                                                             other_content: bool) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = start_serve_on(port, tmp_path / "h1", tmp_path / "r1.db", tmp_path / "s1.log")
    store = SQLiteStore(tmp_path / "a.db")
    try:
        rm, _mv, _art = store.register_model("m", "s3://b/m", version="v1")
        assert _sync(store, url).created == 3
        assert sync_status(store)["remotes"][url]["identity"]["model_id"] == "1"
        assert _sync(store, url).identity_checked  # same server: the probe passes
    finally:
        stop(first)
    # A fresh server on the same URL (empty, or with someone else's model as id 1).
    second = start_serve_on(port, tmp_path / "h2", tmp_path / "r2.db", tmp_path / "s2.log")
    try:
        if other_content:
            remote = RemoteRegistry(url)
            remote.create(RegisteredModel(name="someone-else"))
            remote.close()
        rm = store.get(RegisteredModel, rm.id)
        rm.description = "edited offline"
        store.update(rm)
        with pytest.raises(RemoteIdentityError) as info:
            _sync(store, url)
        message = str(info.value)
        assert "re-created" in message and f"localhub remote reset {url}" in message
        expected: Any = info.value.expected
        assert expected["model_id"] == "1"
        # Nothing was written: the remote is as it was, the change is still queued.
        assert _remote_models(tmp_path / "r2.db") == (["someone-else"] if other_content
                                                      else [])
        assert [c.op for c in store.pending()] == ["update"]
        with pytest.raises(RemoteIdentityError):
            _sync(store, url, push=False)  # a pull is refused too (links would be wrong)
        # The documented way out: forget the old server, send everything to the new one.
        counts = reset_remote(store, url, requeue=True)
        assert counts["sync_links"] == 3 and counts["requeued"] == 3
        report = _sync(store, url)
        assert report.created == 3 and report.remaining == 0 and report.conflicts == 0
        assert _remote_models(tmp_path / "r2.db") == (["someone-else", "m"] if other_content
                                                      else ["m"])
        remote = RemoteRegistry(url)
        found = remote.find_model("m")
        remote.close()
        assert found is not None and found.entity.description == "edited offline"
        assert [a.uri for a in SQLiteStore(tmp_path / "r2.db").list_page(ModelArtifact).items] == [
            "s3://b/m"]
        # The new server is pinned now.
        ident = sync_status(store)["remotes"][url]["identity"]
        assert ident["model_id"] == str(found.entity.id)
        assert _sync(store, url).identity_checked
    finally:
        stop(second)
        store.close()


def test_one_upstream_per_database(env: Env) -> None:
    a = env.store("a")
    a.register_model("m", "s3://b/m", version="v1")
    env.sync("a")  # through the proxy URL: that is the upstream now
    assert sync_status(a)["upstream"] == env.proxy.url
    a.register_model("m2", "s3://b/m2", version="v1")
    for options in ({}, {"dry_run": True}, {"push": False}):
        with pytest.raises(SyncUpstreamError) as info:
            env.sync("a", direct=True, **options)
        assert info.value.upstream == env.proxy.url
        assert "one upstream per database" in str(info.value)
        assert "reset_remote" in str(info.value)
    assert len(a.pending()) == 3  # nothing acknowledged by anyone
    # Moving the database to the other URL (same server here): reset, then sync adopts.
    reset_remote(a, env.proxy.url, requeue=True)
    report = env.sync("a", direct=True)
    assert (report.created, report.adopted, report.remaining) == (3, 3, 0)
    assert sync_status(a)["upstream"] == env.server.url


def test_first_contact_against_an_unreachable_url_pins_nothing(env: Env, tmp_path: Path) -> None:
    a = env.store("a")
    a.register_model("m", "s3://b/m", version="v1")
    dead = f"http://127.0.0.1:{free_port()}"
    report = env_sync_url(a, dead)
    assert report.stopped is not None
    assert sync_status(a)["upstream"] is None
    assert env.sync("a").created == 3


def env_sync_url(store: SQLiteStore, url: str):  # type: ignore[no-untyped-def]
    with SyncEngine(store, url, sleep=lambda _s: None, max_attempts=2) as engine:
        return engine.run()
