"""``client.batch()``: many writes, one transaction, one durable commit."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localhub import ModelRegistryClient, SQLiteStore
from localhub.errors import DuplicateError, InvalidInputError


def _client(path: Path) -> ModelRegistryClient:
    return ModelRegistryClient("http://127.0.0.1:9", path=str(path), author="t")


def _count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


VERSIONS = "SELECT count(*) FROM contexts WHERE kind = 'model-version'"
QUEUED = "SELECT count(*) FROM outbox"


def test_batch_commits_once_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    client = _client(path)
    client.register_model("first", "s3://b/first", version="v0")  # creates the file
    with client.batch():
        for i in range(20):
            client.register_model(f"m{i % 4}", f"s3://b/{i}", version=f"v{i}",
                                  metadata={"i": i})
        # Reads inside the batch see its writes; another connection does not, yet.
        assert client.get_model_version("m3", "v19") is not None
        assert _count(path, VERSIONS) == 1
    assert _count(path, VERSIONS) == 21
    assert _count(path, QUEUED) == 3 + 4 + 20 * 2  # every change queued in the same commit
    assert len(client.pending()) == _count(path, QUEUED)


def test_a_failed_call_inside_a_batch_leaves_the_others(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    client = _client(path)
    with client.batch():
        client.register_model("m", "s3://b/1", version="v1")
        with pytest.raises(DuplicateError, match="Version v1 already exists"):
            client.register_model("m", "s3://b/other", version="v1")
        with pytest.raises(InvalidInputError):
            client.register_model("bad", " ", version="v1")
        client.register_model("m", "s3://b/2", version="v2")
    assert [v.name for v in client.list_model_versions("m")] == ["v1", "v2"]
    assert client.registry.get_registered_model("bad") is None
    assert _count(path, QUEUED) == 1 + 2 * 2
    # The failed registration of "bad" left no model and no queued change behind.
    assert _count(path, "SELECT count(*) FROM contexts WHERE name = 'bad'") == 0


def test_an_exception_escaping_the_batch_undoes_all_of_it(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    client = _client(path)
    client.register_model("keep", "s3://b/keep", version="v1")
    before = (_count(path, VERSIONS), _count(path, QUEUED))
    with pytest.raises(RuntimeError, match="stop"), client.batch():
        client.register_model("gone", "s3://b/gone", version="v1")
        mv = client.get_model_version("keep", "v1")
        assert mv is not None
        mv.description = "changed"
        client.update_model_version(mv)
        raise RuntimeError("stop")
    assert (_count(path, VERSIONS), _count(path, QUEUED)) == before
    assert client.registry.get_registered_model("gone") is None
    kept = client.get_model_version("keep", "v1")
    assert kept is not None and kept.description is None
    # The store is usable afterwards, in and out of batches.
    with client.batch(), client.batch():  # a nested batch joins the outer one
        client.register_model("after", "s3://b/after", version="v1")
    assert client.registry.get_registered_model("after") is not None


def test_other_writers_wait_for_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    client = _client(path)
    client.register_model("m", "s3://b/m", version="v0")
    other = SQLiteStore(path, busy_timeout=0.2)
    try:
        with client.batch():
            client.register_model("m", "s3://b/1", version="v1")
            with pytest.raises(Exception, match="locked|busy"):
                other.register_model("x", "s3://b/x", version="v1")
        other.register_model("x", "s3://b/x", version="v1")  # free again once it commits
    finally:
        other.close()


BATCH_THEN_HANG = """
import sys, time
from localhub import ModelRegistryClient
c = ModelRegistryClient("http://127.0.0.1:9", path=sys.argv[1], author="t")
c.register_model("before", "s3://b/before", version="v1")
with c.batch():
    for i in range(50):
        c.register_model("batched", f"s3://b/{i}", version=f"v{i}")
    print("inside", flush=True)
    time.sleep(60)
"""


@pytest.mark.slow
def test_kill_9_inside_a_batch_keeps_nothing_of_it(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    proc = subprocess.Popen([sys.executable, "-c", BATCH_THEN_HANG, str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while proc.stdout.readline().strip() != "inside":
            assert time.monotonic() < deadline and proc.poll() is None
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
    client = _client(path)
    assert client.registry.get_registered_model("before") is not None
    assert client.registry.get_registered_model("batched") is None
    assert len(client.pending()) == 3  # only the registration committed before the batch
