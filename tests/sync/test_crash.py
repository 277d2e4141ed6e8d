"""kill -9 of a sync process mid-push, several times, then a rerun: exact remote content."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest

from localhub.errors import SyncLockedError
from localhub.store import SQLiteStore
from localhub.sync.lock import SyncLock
from localhub.types import Artifact, ModelVersion, RegisteredModel

from tests.support.sync_env import Env

SYNC = ("import sys\n"
        "from localhub.store import SQLiteStore\n"
        "from localhub.rest_client import RemoteRegistry\n"
        "from localhub.sync import SyncEngine\n"
        "SyncEngine(SQLiteStore(sys.argv[1]), RemoteRegistry(sys.argv[2])).run(pull=False)\n")

N = 70


def _queued(store: SQLiteStore) -> int:
    with store.db.read() as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


@pytest.mark.slow
def test_kill_9_during_push_then_rerun(env: Env) -> None:
    a = env.store("a")
    for i in range(N):
        rm, mv, _ = a.register_model(f"m{i:03d}", f"s3://b/m{i}", version="v1",
                                     metadata={"i": i})
        if i % 2:
            rm.description = f"model {i}"
            a.update(rm)
            mv.description = f"version {i}"
            a.update(mv)
    assert len(a.pending()) == 3 * N + N // 2 * 2  # 280 queued operations
    rng = random.Random(4)
    kills = 0
    left = [_queued(a)]
    for _ in range(4):
        # Kill at a random point of progress: once the queue has shrunk by some fraction.
        target = int(left[-1] * rng.uniform(0.3, 0.9))
        proc = subprocess.Popen([sys.executable, "-c", SYNC, a.path, env.server.url])
        deadline = time.monotonic() + 60
        while proc.poll() is None and _queued(a) > target and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        left.append(_queued(a))
    # Killed mid-push four times: each run made progress and left work behind.
    assert kills == 4, left
    assert all(x > y > 0 for x, y in zip(left, left[1:], strict=False)), left
    report = env.sync("a", direct=True)
    assert report.remaining == 0 and report.conflicts == 0 and report.set_aside == 0
    assert a.pending() == []
    remote = SQLiteStore(env.server.db)
    try:
        models = {m.name: m for m in remote.list_page(RegisteredModel).items}
        assert sorted(models) == [f"m{i:03d}" for i in range(N)]
        versions = remote.list_page(ModelVersion).items
        assert len(versions) == N
        arts = remote.list_page(Artifact).items
        assert sorted(getattr(x, "uri", "") for x in arts) == sorted(
            f"s3://b/m{i}" for i in range(N))
        for i in range(N):
            model = models[f"m{i:03d}"]
            assert model.description == (f"model {i}" if i % 2 else None)
            (version,) = remote.list_page(ModelVersion, parent_id=model.id).items
            assert version.description == (f"version {i}" if i % 2 else None)
            assert version.custom_properties == {"i": i}
            assert len(remote.version_artifacts(version.id)) == 1
    finally:
        remote.close()


def test_one_sync_per_database_and_remote(tmp_path: object) -> None:
    path = str(tmp_path) + "/x.db"  # type: ignore[operator]
    with SyncLock(path, "http://r1"):
        with pytest.raises(SyncLockedError, match="another sync"):
            SyncLock(path, "http://r1", wait=0.1).acquire()
        with SyncLock(path, "http://r2", wait=0.1):  # another remote: independent
            pass
    with SyncLock(path, "http://r1", wait=0.1):  # released
        pass


def test_sync_package_does_not_import_requests_or_sqlmodel() -> None:
    code = ("import sys, localhub.sync, localhub.sync.push, localhub.sync.pull, "
            "localhub.sync.engine, localhub.rest_client\n"
            "bad = [m for m in ('requests', 'sqlmodel') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
