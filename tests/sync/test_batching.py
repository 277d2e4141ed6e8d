"""Batched durable commits in a push (sync/push.py, "Batching") and a pull.

Push: creates of a window are marked attempted in one commit before any is sent;
acknowledgements are committed per window. These tests pin the number of commits, the markers
left by runs that end early, and kill -9 between the window's marker commit, its POSTs and
its acknowledgement commit: the rerun converges to the exact content, without duplicates.
Pull: pulled entities are applied in one transaction per batch, not one per entity.
Concurrency: a rank's ops of a window are sent from a thread pool; kill -9 and stops in the
middle of a concurrent wave converge like the rest. Tests that pin exact sequences of requests
and commits run with ``workers=1``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine
from localhub.sync.pull import APPLY_BATCH
from localhub.sync.push import WINDOWS
from localhub.types import Artifact, ModelArtifact, ModelVersion, RegisteredModel

from tests.support.sync_env import Env

SYNC = ("import sys\n"
        "from localhub.store import SQLiteStore\n"
        "from localhub.rest_client import RemoteRegistry\n"
        "from localhub.sync import SyncEngine\n"
        "SyncEngine(SQLiteStore(sys.argv[1]), RemoteRegistry(sys.argv[2]),\n"
        "           workers=int(sys.argv[3])).run(pull=False)\n")


@contextmanager
def _count_commits(store: SQLiteStore) -> Iterator[list[int]]:
    """Count the COMMITs of write transactions on ``store``'s connection (each one durable;
    read transactions end with a COMMIT too and are told apart by their plain BEGIN)."""
    count = [0]
    writing = [False]

    def trace(sql: str) -> None:
        if sql.startswith("BEGIN IMMEDIATE"):
            writing[0] = True
        elif sql.startswith(("COMMIT", "ROLLBACK")) and not sql.startswith("ROLLBACK TO"):
            count[0] += writing[0]
            writing[0] = False

    conn = store.db.connection()
    conn.set_trace_callback(trace)
    try:
        yield count
    finally:
        conn.set_trace_callback(None)


def _markers(store: SQLiteStore) -> dict[str, int | None]:
    """uid -> create_attempted_at of every sync_items row."""
    with store.db.read() as conn:
        return {r[0]: r[1] for r in conn.execute(
            "SELECT entity_uid, create_attempted_at FROM sync_items")}


def _uid(store: SQLiteStore, table: str, name: str) -> str:
    with store.db.read() as conn:
        return str(conn.execute(f"SELECT uid FROM {table} WHERE name = ?", (name,)).fetchone()[0])


def _remote_content(env: Env) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    remote = SQLiteStore(env.server.db)
    try:
        models = {m.id: m.name for m in remote.list_page(RegisteredModel).items}
        versions = sorted((models[v.registered_model_id], v.name)
                          for v in remote.list_page(ModelVersion).items)
        return (sorted(models.values()), versions,
                sorted(str(a.uri) for a in remote.list_page(ModelArtifact).items))
    finally:
        remote.close()


def _api(log: list[tuple[str, str, Any]]) -> list[tuple[str, str]]:
    return [(m, p.split("?")[0].replace("/api/model_registry/v1", ""))
            for m, p, _s in log if not p.startswith("/readyz")]


def test_a_push_commits_per_window_not_per_op(env: Env) -> None:
    a = env.store("a")
    for v in range(20):
        a.register_model("m", f"s3://m/{v}", version=f"v{v}")
    ops = 1 + 20 + 20
    with _count_commits(a) as commits:
        report = env.sync("a", pull=False, workers=1)
    assert (report.created, report.remaining, report.requests) == (ops, 0, ops)
    windows = 3  # 8 + 16 + 17 ops
    assert sum(WINDOWS[:windows - 1]) < ops <= sum(WINDOWS[:windows])
    # Per window: the markers, the acknowledgements; plus one flush where a version needs
    # its model's pending link; plus the run's own bookkeeping (set-aside reset, last_push).
    # One op at a time took two commits per op (82 here).
    assert commits[0] <= 2 * windows + 1 + 3, commits[0]
    assert _markers(a) == {}  # acknowledged creates leave no marker


def test_markers_of_creates_never_sent_are_removed(env: Env) -> None:
    """The model is rejected: its version and artifact are set aside unsent. Their window
    markers are removed, and so is the model's (a refused create did not land), so the next
    run sends all three without a lookup."""
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1")
    env.proxy.rules({"match": "POST", "nth": 1, "action": "status", "status": 422})
    report = env.sync("a", pull=False, workers=1)
    assert (report.created, report.set_aside) == (0, 3)
    markers = _markers(a)
    model = _uid(a, "contexts", "m")
    assert markers[model] is None  # refused: nothing landed, no lookup next time
    assert markers[_uid(a, "contexts", "v1")] is None
    assert markers[_uid(a, "artifacts", "m")] is None
    env.proxy.reset()
    report = env.sync("a", pull=False)
    assert (report.created, report.remaining) == (3, 0)
    assert _api(env.proxy.log()) == [
        ("POST", "/registered_models"),
        ("POST", "/model_versions"), ("POST", "/model_versions/2/artifacts")]


def test_a_stopped_run_keeps_what_was_acknowledged_and_unmarks_the_rest(env: Env) -> None:
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1")
    a.register_model("n", "s3://n/1", version="v1")
    # Every try of the third POST (the first version) finds no server (a refused connection,
    # not a 5xx that other requests escape): the run stops there.
    env.proxy.rules(*[{"match": "POST", "nth": 3, "action": "refuse"} for _ in range(2)])
    report = env.sync("a", pull=False, max_attempts=2, workers=1)
    assert report.stopped is not None and report.created == 2
    assert report.remaining == 4
    markers = _markers(a)
    assert len(markers) == 1 and next(iter(markers.values())) is not None  # the one sent
    env.proxy.reset()
    report = env.sync("a", pull=False)
    assert (report.created, report.adopted, report.remaining) == (4, 0, 0)
    # The identity probe (of the newest linked model, n), then the lookup of the one marker.
    assert [r for r in _api(env.proxy.log()) if r[0] == "GET"] == [
        ("GET", "/registered_models/2"), ("GET", "/model_version")]
    assert _remote_content(env) == (["m", "n"], [("m", "v1"), ("n", "v1")],
                                    ["s3://m/1", "s3://n/1"])


def _kill_at_hold(env: Env, store: SQLiteStore, rule: dict[str, Any], workers: int = 1
                  ) -> list[str]:
    """Run a push in a subprocess through the proxy, kill -9 it while the proxy holds the
    request ``rule`` matches (for longer than the test runs: a held-before request never
    reaches the server), then reset the proxy. Returns what the proxy saw."""
    env.proxy.rules({**rule, "action": "hold", "seconds": 120})
    proc = subprocess.Popen([sys.executable, "-c", SYNC, store.path, env.proxy.url,
                             str(workers)])
    try:
        deadline = time.monotonic() + 60
        while not any(str(s).startswith("holding") for _m, _p, s in env.proxy.log()):
            assert proc.poll() is None and time.monotonic() < deadline, "no hold reached"
            time.sleep(0.02)
        log = [f"{m} {p} {s}" for m, p, s in env.proxy.log()]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    env.proxy.reset()
    return log


@pytest.mark.parametrize("phase", ["before", "after"])
def test_kill_9_inside_a_window_then_rerun(env: Env, phase: str) -> None:
    """Killed while the 6th POST of the first window is in flight: the window's markers are
    committed, the POSTs sent since the last acknowledgement commit are not acknowledged (and
    with ``after`` the held one was applied by the server). The rerun looks up exactly the
    marked entities, adopts what exists and creates the rest: no duplicate, nothing lost."""
    a = env.store("a")
    for m in ("m0", "m1", "m2"):
        for v in ("v0", "v1"):
            a.register_model(m, f"s3://{m}/{v}", version=v)
    queued = len(a.pending())
    assert queued == 15
    log = _kill_at_hold(env, a, {"match": "POST", "nth": 6, "phase": phase})
    posts = [line for line in log if line.startswith("POST")]
    assert len(posts) == 6 and posts[-1].endswith(f"holding-{phase}")
    # The 3 models were acknowledged (flushed before the first version needed them); the
    # 2 versions POSTed after them were not, nor the held one.
    assert len(a.pending()) == queued - 3
    markers = _markers(a)
    window = WINDOWS[0] - 3  # the first window's 5 versions, all marked before any POST
    assert len(markers) == window and all(v is not None for v in markers.values())

    report = env.sync("a", pull=False)
    applied = 3 if phase == "after" else 2
    assert (report.adopted, report.created) == (applied, queued - 3 - applied)
    assert (report.remaining, report.conflicts, report.set_aside) == (0, 0, 0)
    # The identity probe, one lookup per marked entity, then the POSTs of what was missing.
    assert report.identity_checked
    assert report.requests == 1 + window + (queued - 3 - applied)
    assert a.pending() == [] and _markers(a) == {}
    assert _remote_content(env) == (
        ["m0", "m1", "m2"], [(m, v) for m in ("m0", "m1", "m2") for v in ("v0", "v1")],
        sorted(f"s3://{m}/{v}" for m in ("m0", "m1", "m2") for v in ("v0", "v1")))


def test_a_pull_commits_per_batch_not_per_entity(env: Env) -> None:
    a, b = env.store("a"), env.store("b")
    for v in range(30):
        a.register_model(f"m{v % 2}", f"s3://m/{v}", version=f"v{v}", metadata={"v": v})
    env.sync("a")
    with _count_commits(b) as commits:
        report = env.sync("b")
    assert report.pulled == 2 + 30 + 30 and 30 < APPLY_BATCH
    # Per kind: its entities in one batch and its watermark; the artifacts placed through
    # their versions' listings in one more; plus the run's bookkeeping. One per entity: 62+.
    assert commits[0] <= 4 * 2 + 1 + 3, commits[0]
    assert len(b.list_page(ModelVersion).items) == 30 and len(b.list_page(Artifact).items) == 30


def test_artifacts_placed_before_a_failed_listing_are_kept(env: Env) -> None:
    """A per-version artifact listing fails for good: the artifacts placed by the other
    listings (they run concurrently) are applied anyway, and the next pull places the rest."""
    a, b = env.store("a"), env.store("b")
    for v in range(4):
        a.register_model("m", f"s3://m/{v}", version=f"v{v}")
    env.sync("a")
    env.proxy.reset()
    # Every try of the listing of v2's artifacts fails.
    v2 = env.server.get("/model_version", name="v2",
                        parentResourceId=env.server.model("m")["id"])["id"]
    env.proxy.rules(*[{"match": f"GET /api/model_registry/v1/model_versions/{v2}/artifacts",
                       "action": "status", "status": 503} for _ in range(12)])
    report = env.sync("b", max_attempts=3)
    assert report.stopped is not None
    answered = [p for m, p, s in env.proxy.log()
                if m == "GET" and "/model_versions/" in p and s == 200]
    assert answered and len(b.list_page(Artifact).items) == len(answered)
    assert "s3://m/2" not in {str(x.uri) for x in b.list_page(ModelArtifact).items}
    env.proxy.reset()
    report = env.sync("b")
    assert report.stopped is None and report.remaining == 0
    assert sorted(str(x.uri) for x in b.list_page(ModelArtifact).items) == [
        f"s3://m/{v}" for v in range(4)]


# -- concurrency ------------------------------------------------------------------------------


@pytest.fixture
def in_flight(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Requests in flight across threads (every RemoteRegistry, the push's clones too)."""
    stats = {"now": 0, "max": 0}
    lock = threading.Lock()
    original = RemoteRegistry.request

    def request(self: RemoteRegistry, *args: Any, **kwargs: Any) -> Any:
        with lock:
            stats["now"] += 1
            stats["max"] = max(stats["max"], stats["now"])
        try:
            return original(self, *args, **kwargs)
        finally:
            with lock:
                stats["now"] -= 1

    monkeypatch.setattr(RemoteRegistry, "request", request)
    return stats


_RANK_OF = {"registered_models": 0, "model_versions": 1, "artifacts": 2}


def _post_ranks(log: list[tuple[str, str, Any]]) -> list[int]:
    """Rank of each POST in the proxy log, in the order the replies were sent."""
    return [_RANK_OF[p.rsplit("/", 1)[-1].split("?")[0]] for m, p, _s in log if m == "POST"]


def test_a_concurrent_push_sends_each_rank_in_parallel(env: Env, in_flight: dict[str, int]
                                                       ) -> None:
    a = env.store("a")
    for m in range(6):
        for v in range(3):
            a.register_model(f"m{m}", f"s3://m{m}/{v}", version=f"v{v}")
    ops = 6 + 18 + 18
    env.proxy.rules({"match": "POST", "nth": 10, "action": "status", "delay": 0.5,
                     "status": 503})  # one slow failing version POST, retried
    report = env.sync("a", pull=False, workers=4)
    assert (report.created, report.remaining, report.conflicts) == (ops, 0, 0)
    assert report.requests == ops + 2  # the retry after the 503: its lookup, its POST
    assert 2 <= in_flight["max"] <= 4
    log = env.proxy.log()
    assert _post_ranks(log) == sorted(_post_ranks(log))  # parents' rank done first
    assert a.pending() == [] and _markers(a) == {}
    assert _remote_content(env) == (
        [f"m{m}" for m in range(6)], [(f"m{m}", f"v{v}") for m in range(6) for v in range(3)],
        sorted(f"s3://m{m}/{v}" for m in range(6) for v in range(3)))


def test_a_swapped_transport_keeps_the_concurrent_push(env: Env, in_flight: dict[str, int]
                                                       ) -> None:
    """A remote whose HTTP transport is swapped still pushes each rank in parallel, every
    worker's request going through that transport."""

    class Counting(requests.adapters.HTTPAdapter):
        def __init__(self) -> None:
            super().__init__()
            self.lock, self.sent = threading.Lock(), 0

        def send(self, request: requests.PreparedRequest, *args: Any,
                 **kwargs: Any) -> requests.Response:
            with self.lock:
                self.sent += 1
            return super().send(request, *args, **kwargs)

    a = env.store("a")
    for m in range(4):
        a.register_model(f"m{m}", f"s3://m{m}", version="v1")
    env.sync("a", pull=False, workers=1)  # first contact done: the API version is known
    for m in range(4):
        a.register_model(f"m{m}", f"s3://m{m}/2", version="v2")
    env.proxy.rules({"match": "POST", "nth": 2, "action": "status", "delay": 0.3,
                     "status": 503})
    transport = Counting()
    remote = RemoteRegistry(env.proxy.url, transport=transport)
    try:
        report = SyncEngine(a, remote, workers=4, sleep=lambda _s: None).run(pull=False)
    finally:
        remote.close()
    assert (report.created, report.remaining) == (8, 0)
    assert 2 <= in_flight["max"] <= 4
    assert transport.sent == report.requests


def test_a_stop_in_a_concurrent_wave_unmarks_what_was_not_sent(env: Env) -> None:
    """Every version POST fails and the run stops: no worker starts another op once one has
    stopped, so at most ``workers`` of the 8 versions are sent; the markers of the others and
    of the window's artifacts are removed, and the rerun looks up only what was sent."""
    a = env.store("a")
    for m in range(8):
        a.register_model(f"m{m}", f"s3://m{m}", version="v1")
    env.proxy.rules(*[{"match": "POST /api/model_registry/v1/model_versions",
                       "action": "refuse"} for _ in range(16)])
    report = env.sync("a", pull=False, workers=4, max_attempts=1)
    assert report.stopped is not None and report.created == 8
    sent = [p for m, p, _s in env.proxy.log() if m == "POST" and "model_versions" in p]
    assert 1 <= len(sent) <= 4
    markers = _markers(a)  # exactly the versions whose POST went out
    assert len(markers) == len(sent) and all(v is not None for v in markers.values())
    env.proxy.reset()
    report = env.sync("a", pull=False, workers=4)
    assert (report.created, report.adopted, report.remaining) == (16, 0, 0)
    lookups = [p for m, p, _s in env.proxy.log() if m == "GET" and "/model_version" in p]
    assert len(lookups) == len(sent)
    assert _remote_content(env) == ([f"m{m}" for m in range(8)],
                                    [(f"m{m}", "v1") for m in range(8)],
                                    sorted(f"s3://m{m}" for m in range(8)))


def test_kill_9_inside_a_concurrent_wave_then_rerun(env: Env) -> None:
    """One version POST held while the other workers finish theirs: killed there, the rerun
    adopts exactly the versions the server answered and creates the rest."""
    a = env.store("a")
    for m in ("m0", "m1", "m2"):
        for v in ("v0", "v1"):
            a.register_model(m, f"s3://{m}/{v}", version=v)
    _kill_at_hold(env, a, {"match": "POST /api/model_registry/v1/model_versions",
                           "nth": 2, "phase": "before"}, workers=4)
    # The POSTs the other workers had in flight reach the server: only the held one is left.
    deadline = time.monotonic() + 10
    while env.proxy.in_flight() > 1:
        assert time.monotonic() < deadline, "the other workers' requests never finished"
        time.sleep(0.05)
    answered = len(_remote_content(env)[1])
    assert answered <= 6 - 1  # (the held one never arrives)
    assert len(a.pending()) == 15 - 3  # the models only: acknowledged before the wave
    report = env.sync("a", pull=False, workers=4)
    assert (report.adopted, report.created) == (answered, 12 - answered)
    assert (report.remaining, report.conflicts, report.set_aside) == (0, 0, 0)
    assert a.pending() == [] and _markers(a) == {}
    assert _remote_content(env) == (
        ["m0", "m1", "m2"], [(m, v) for m in ("m0", "m1", "m2") for v in ("v0", "v1")],
        sorted(f"s3://{m}/{v}" for m in ("m0", "m1", "m2") for v in ("v0", "v1")))
