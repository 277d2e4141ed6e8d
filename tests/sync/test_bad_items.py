"""Progress past bad items (issue 11, items 2, 5 and 6): a create failing for good is set
aside with its dependants while the rest goes on; a pulled entity the store refuses is held;
a delete never races an in-flight create; the Go server's LIKE lookups never mislead."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from localhub import ModelRegistryClient
from localhub.errors import DeleteInFlightError, DeleteNotAllowedError, InvalidInputError
from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, SyncReport, resolve, sync_status
from localhub.sync.ledger import Ledger
from localhub.sync.snapshot import snapshot
from localhub.types import (
    InferenceService,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)

from tests.support.processes import start_serve, stop
from tests.support.servers import Proxy, Server, proxying, serving
from tests.support.sync_env import Env

FAIL_BAD_VERSIONS = "fail=POST:/api/model_registry/v1/model_versions:name=bad*"


@contextmanager
def quirky(tmp_path: Path, quirks: str, name: str = "q") -> Iterator[Server]:
    """A real ``localhub serve`` emulating ``quirks`` (LOCALHUB_SERVE_QUIRKS)."""
    with serving(tmp_path / f"{name}-home", tmp_path / f"{name}.db", tmp_path / f"{name}.log",
                 env={"LOCALHUB_SERVE_QUIRKS": quirks}) as server:
        yield server


def run(store: SQLiteStore, url: str, **options: object) -> SyncReport:
    pull = bool(options.pop("pull", True))
    push = bool(options.pop("push", True))
    remote = RemoteRegistry(url)
    try:
        engine = SyncEngine(store, remote, sleep=lambda _s: None, **options)  # type: ignore[arg-type]
        return engine.run(push=push, pull=pull)
    finally:
        remote.close()


def version_names(server: Server, model: str) -> list[str]:
    model_id = server.model(model)["id"]
    return sorted(v["name"] for v in server.get(f"/registered_models/{model_id}/versions")
                  .get("items", []))


# -- item 2: a create failing with 5xx while the rest succeeds --------------------------------


@pytest.mark.own_server  # sets its own quirks
def test_a_create_failing_for_good_is_set_aside_with_its_dependants(tmp_path: Path) -> None:
    """A version POST answered 500 on every try is set aside with its artifact and the
    server's message, the other models go through, status lists it, and the next run (the
    server healthy again) sends it."""
    store = SQLiteStore(tmp_path / "a.db")
    store.register_model("m", "s3://m/1", version="bad1")
    store.register_model("n", "s3://n/1", version="v1")
    with quirky(tmp_path, FAIL_BAD_VERSIONS) as server:
        report = run(store, server.url, max_attempts=2)
        assert report.stopped is None, report.stopped
        assert (report.created, report.set_aside) == (4, 2), report
        assert any("version m:bad1" in e and "emulated failure" in e for e in report.errors)
        assert any("its parent was set aside" in e for e in report.errors)
        assert server.model_names() == ["m", "n"] and version_names(server, "m") == []
        aside = sync_status(store)["set_aside"]
        assert sorted(a["entity"] for a in aside) == ["artifact m:bad1/m", "version m:bad1"]
        assert all(a["message"] for a in aside)
        port, db = server.port, server.db
    # The same database served without the failure, at the same URL: the next run sends it.
    proc = None
    try:
        from tests.support.servers import start_serve_on

        proc = start_serve_on(port, tmp_path / "q-home", db, tmp_path / "q2.log")
        again = run(store, f"http://127.0.0.1:{port}")
        assert (again.created, again.set_aside, again.remaining) == (2, 0, 0), again
        assert sync_status(store)["set_aside"] == []
    finally:
        if proc is not None:
            stop(proc)
        store.close()


@pytest.mark.own_server  # sets its own quirks
def test_every_request_failing_stops_the_run(tmp_path: Path) -> None:
    """When the remote answers 500 to everything, nothing is set aside: the run stops
    (unreachable, exit 4) and the queue is kept."""
    store = SQLiteStore(tmp_path / "a.db")
    store.register_model("m", "s3://m/1", version="v1")
    try:
        with quirky(tmp_path, "fail=*:/api/*") as server:
            report = run(store, server.url, max_attempts=2)
        assert report.stopped is not None and report.set_aside == 0
        assert report.remaining == 3 and sync_status(store)["set_aside"] == []
    finally:
        store.close()


def test_queued_inference_services_are_listed_with_the_reason(tmp_path: Path) -> None:
    """A queued inference service (a kind the engine never sends) is listed by status with
    the reason, and a sync leaves it queued without failing."""
    store = SQLiteStore(tmp_path / "a.db")
    try:
        model, _v, _a = store.register_model("m", "s3://m/1", version="v1")
        env_ = store.create(ServingEnvironment(name="env"))
        store.create(InferenceService(name="svc", registered_model_id=model.id,
                                      serving_environment_id=env_.id))
        listed = sync_status(store)["not_synced"]
        assert [(x["kind"], x["changes"]) for x in listed] == [("inference-service", 1)]
        assert "not synced" in listed[0]["reason"]
    finally:
        store.close()


# -- item 2: a pulled entity the store refuses -------------------------------------------------


def test_a_pulled_entity_the_store_refuses_is_held_and_the_pull_goes_on(env: Env) -> None:
    """A remote model whose externalId a different local model holds is held with a message
    (with its version and artifact); the other model is pulled, the watermark moves past it,
    and once the local clash is gone the next pull applies the held model and its children."""
    env.server.register("clash", externalId="ext-1")
    env.server.register("fine")
    b = env.store("b")
    mine = b.create(RegisteredModel(name="mine", external_id="ext-1"))
    report = env.sync("b", push=False)
    assert report.stopped is None and len(report.held) == 1, report
    assert "'clash'" in report.held[0] and "could not be applied" in report.held[0]
    assert sorted(m.name for m in b.list_page(RegisteredModel).items) == ["fine", "mine"]
    held = sync_status(b)["held"]
    assert [h["kind"] for h in held] == ["registered-model"] and held[0]["message"]
    watermark = Ledger(b, env.proxy.url).get_state("watermark:registered-models")
    assert int(watermark or 0) >= int(env.server.model("fine")["lastUpdateTimeSinceEpoch"])
    mine.external_id = "ext-2"
    b.update(mine)
    again = env.sync("b", push=False)
    assert again.held == [] and sync_status(b)["held"] == []
    names = sorted((m.name, [v.name for v in b.list_page(ModelVersion, parent_id=m.id).items])
                   for m in b.list_page(RegisteredModel).items)
    assert names == [("clash", ["v1"]), ("fine", ["v1"]), ("mine", [])]


# -- item 5: a local delete racing an in-flight create -----------------------------------------


def _wait_for(proxy: Proxy, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not any(entry[2] == what for entry in proxy.log()):
        assert time.monotonic() < deadline, f"no {what} in {proxy.log()}"
        time.sleep(0.02)


def test_a_delete_during_an_in_flight_create_is_refused(env: Env) -> None:
    """While the model's POST is on its way, deleting the model is refused (it would be left
    on the remote only); after the sync it is linked, so delete says archive instead."""
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1")
    client = ModelRegistryClient("http://127.0.0.1:1", store=a)
    env.proxy.rules({"match": "POST", "nth": 1, "action": "hold", "phase": "before",
                     "seconds": 1.5})
    reports: list[SyncReport] = []
    worker = threading.Thread(target=lambda: reports.append(env.sync("a", pull=False)))
    worker.start()
    try:
        _wait_for(env.proxy, "holding-before")
        with pytest.raises(DeleteInFlightError, match="is being sent to"):
            client.delete_model("m")
    finally:
        worker.join(30)
    assert reports and reports[0].created == 3
    with pytest.raises(DeleteNotAllowedError) as refused:
        client.delete_model("m")
    assert not isinstance(refused.value, DeleteInFlightError)
    assert env.server.model_names() == ["m"]


def test_a_create_the_remote_refused_can_be_deleted(env: Env) -> None:
    """A create the remote refused (400) never landed: the model may be deleted locally."""
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1")
    env.proxy.rules({"match": "POST", "nth": 1, "action": "status", "status": 400})
    report = env.sync("a", pull=False)
    assert report.set_aside >= 1 and report.errors
    ModelRegistryClient("http://127.0.0.1:1", store=a).delete_model("m")
    assert env.server.model_names() == []


# -- item 6: LIKE lookups of the Go server ------------------------------------------------------


@pytest.mark.own_server  # sets its own quirks
def test_a_find_one_answer_of_another_name_is_absent(tmp_path: Path) -> None:
    """With LIKE lookups, ``a_b`` answered by ``axb`` is absent; once ``a_b`` exists the exact
    lookup finds it although the LIKE match answers ``axb`` first."""
    with quirky(tmp_path, "like-names") as server:
        axb = server.post("/registered_models", {"name": "axb"})
        server.post("/model_versions", {"name": "v1x", "registeredModelId": axb["id"]})
        remote = RemoteRegistry(server.url)
        try:
            assert remote.find_model("a_b") is None
            assert remote.find(RegisteredModel, name="a_b") is None
            assert remote.find_version("v1_", axb["id"]) is None
            server.post("/registered_models", {"name": "a_b"})
            found = remote.find_model("a_b")
            assert found is not None and found.entity.name == "a_b"
            assert getattr(remote.find(RegisteredModel, name="a_b"), "name", None) == "a_b"
        finally:
            remote.close()


@pytest.mark.own_server  # sets its own quirks
def test_a_lost_create_is_adopted_despite_a_like_match(tmp_path: Path) -> None:
    """The POST of ``a_b`` lands but its reply is lost; the rerun's lookup (LIKE answers
    ``axb``) adopts ``a_b`` exactly: no conflict, nothing set aside, ``axb`` untouched."""
    store = SQLiteStore(tmp_path / "a.db")
    store.register_model("a_b", "s3://ab/1", version="v1")
    with quirky(tmp_path, "like-names") as server, \
            proxying(server.url, tmp_path / "proxy.log") as proxy:
        before = server.post("/registered_models", {"name": "axb"})
        proxy.rules({"match": "POST", "nth": 1, "action": "drop"})
        first = run(store, proxy.url, max_attempts=1)
        assert first.stopped is not None
        second = run(store, proxy.url)
        assert (second.adopted, second.created, second.conflicts, second.set_aside) == \
            (1, 2, 0, 0), second
        assert second.errors == [] and sync_status(store)["set_aside"] == []
        assert server.model_names() == ["a_b", "axb"]
        assert server.model("axb") == before
    store.close()


def test_resolve_ours_on_a_match_of_another_entity_does_not_crash(env: Env) -> None:
    """A create-different conflict naming a remote entity already linked to another local
    one (as a LIKE lookup made it): ``ours`` sends the local entity under its own name,
    ``theirs`` is refused with a reason; no UNIQUE constraint breaks."""
    env.server.register("axb")
    a = env.store("a")
    env.sync("a")
    a.register_model("a_b", "s3://ab/1", version="v1")
    axb = env.remote().find_model("axb")
    assert axb is not None
    ledger = Ledger(a, env.proxy.url)
    mine = a.find(RegisteredModel, name="a_b")
    assert mine is not None
    with a.db.write() as conn:
        uid = conn.execute("SELECT uid FROM contexts WHERE name = 'a_b'").fetchone()[0]
        local = a.load(conn, "contexts", uid)
        assert local is not None
        conflict = ledger.add_conflict(
            conn, local=local, kind="create-different", fields_=["name"], base={},
            mine=snapshot(local.entity), theirs=snapshot(axb.entity),
            remote_id=str(axb.entity.id), message="model a_b already exists")
    with pytest.raises(InvalidInputError, match="not this entity's counterpart"):
        resolve(a, conflict, "theirs")
    resolve(a, conflict, "ours")
    report = env.sync("a")
    assert (report.created, report.conflicts, report.set_aside) == (3, 0, 0), report
    assert env.server.model_names() == ["a_b", "axb"]


@pytest.mark.own_server  # sets its own quirks
def test_start_serve_takes_the_quirks_used_here(tmp_path: Path) -> None:
    """The quirk items these tests rely on are accepted by ``serve`` (a typo would make the
    tests above pass against a faithful server)."""
    proc, _port = start_serve(tmp_path / "h", tmp_path / "s.db", tmp_path / "s.log",
                              quirks=f"like-names,{FAIL_BAD_VERSIONS}")
    try:
        log = (tmp_path / "s.log").read_text()
        assert "like-names" in log and "name=bad*" in log
    finally:
        stop(proc)
