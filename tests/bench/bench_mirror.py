"""Benchmark: first mirror and incremental pulls through a proxy adding latency per request.

    python -m tests.bench.bench_mirror [--full] [--delay-ms 50] [--out FILE]

The remote is a ``localhub serve`` whose database is built directly with the store (20 models
x 100 versions, each with its artifact and 3 properties; ``--full``: 100 x 100), plus one
top-level model artifact. The engine talks to it through ``tests/bench/latency_proxy.py``,
which waits ``--delay-ms`` before forwarding each request and counts them. Measured: the
first mirror into an empty store, then an incremental pull after one change of each kind
(model, version, version artifact, top-level artifact) made directly at the server, and a
pull with no change after them all. Targets (issue #11, at 50 ms): first mirror of 2,000
versions under 10 s; a pull after one top-level artifact change at most 10 requests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import requests

from tests.bench._common import ROOT, emit, machine_note, verdict
from tests.bench.bench_push import PROPS
from tests.support.processes import free_port, start_serve, stop, wait_healthy

API = "/api/model_registry/v1"


class Proxy:
    """The latency proxy process in front of ``target``."""

    def __init__(self, target: str, delay_ms: float, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.bench.latency_proxy", "--target", target,
                 "--port", str(self.port), "--delay-ms", str(delay_ms)],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        wait_healthy(f"{self.url}/readyz/health", self.proc, log)

    def counts(self, *, reset: bool = True) -> dict[str, Any]:
        """Requests counted since the last reset (``total`` and ``by`` kind)."""
        out: dict[str, Any] = requests.get(f"{self.url}/__proxy__/counts", timeout=10).json()
        if reset:
            requests.post(f"{self.url}/__proxy__/reset", timeout=10)
        return out

    def close(self) -> None:
        stop(self.proc)


def seed(path: Path, models: int, versions: int) -> None:
    """The remote's database: ``models`` x ``versions`` registrations, built in-process."""
    from localhub import SQLiteStore

    store = SQLiteStore(path, synchronous="OFF")
    for m in range(models):
        for v in range(versions):
            store.register_model(f"model-{m:04d}", f"s3://b/{m}/{v}", version=f"v{v}",
                                 model_format_name="onnx", model_format_version="1",
                                 author="bench", metadata=PROPS)
    store.close()


def _first(url: str) -> dict[str, Any]:
    item: dict[str, Any] = requests.get(url, params={"pageSize": 1}, timeout=30).json()["items"][0]
    return item


def changes(api: str, top_level_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """One PATCH (path, body) per kind of change, made straight at the server."""
    model = _first(f"{api}/registered_models")
    version = _first(f"{api}/registered_models/{model['id']}/versions")
    artifact = _first(f"{api}/model_versions/{version['id']}/artifacts")
    stamp = f"changed {time.time()}"
    return {
        "model": (f"/registered_models/{model['id']}", {"description": stamp, "state": "LIVE"}),
        "version": (f"/model_versions/{version['id']}", {"description": stamp,
                                                         "state": "LIVE"}),
        "version artifact": (f"/model_artifacts/{artifact['id']}",
                             {"description": stamp, "state": artifact["state"]}),
        "top-level artifact": (f"/model_artifacts/{top_level_id}",
                               {"description": stamp, "state": "LIVE"}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="10,000 versions, not 2,000")
    parser.add_argument("--delay-ms", type=float, default=50)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from localhub import SQLiteStore
    from localhub.rest_client import RemoteRegistry
    from localhub.sync import SyncEngine

    models, versions = (100, 100) if args.full else (20, 100)
    n = models * versions
    note = machine_note()
    rows: list[dict[str, Any]] = []
    detail: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-mirror-") as tmp_s:
        tmp = Path(tmp_s)
        seed(tmp / "remote.db", models, versions)
        serve, port = start_serve(tmp / "home", tmp / "remote.db", tmp / "serve.log")
        api = f"http://127.0.0.1:{port}{API}"
        top = requests.post(f"{api}/model_artifacts",
                            json={"name": "top", "uri": "s3://b/top", "state": "LIVE"},
                            timeout=30).json()
        proxy = Proxy(f"http://127.0.0.1:{port}", args.delay_ms, tmp / "proxy.log")
        store = SQLiteStore(tmp / "mirror.db")
        remote = RemoteRegistry(proxy.url)
        try:
            proxy.counts()
            start = time.perf_counter()
            report = SyncEngine(store, remote).run(push=False)
            mirror_s = time.perf_counter() - start
            first = proxy.counts()
            ok = mirror_s < 10 if n == 2000 and args.delay_ms == 50 else None
            rows.append({"metric": f"first mirror of {n:,} versions, s", "ours": mirror_s,
                         "target": "< 10" if ok is not None else "-", "met": verdict(ok)})
            rows.append({"metric": "first mirror: requests", "ours": first["total"],
                         "target": "-", "met": "-"})
            detail.append(f"first mirror pulled {report.pulled} entities; requests by kind: "
                          f"{first['by']}")
            for kind, (path, body) in changes(api, str(top["id"])).items():
                reply = requests.patch(f"{api}{path}", json=body, timeout=30)
                reply.raise_for_status()
                start = time.perf_counter()
                SyncEngine(store, remote).run(push=False)
                seconds = time.perf_counter() - start
                counted = proxy.counts()
                top_level = kind == "top-level artifact"
                rows.append({"metric": f"pull after one {kind} change: requests (s)",
                             "ours": f"{counted['total']} ({seconds:.2f} s)",
                             "target": "<= 10" if top_level else "-",
                             "met": verdict(counted["total"] <= 10) if top_level else "-"})
                detail.append(f"after one {kind} change: {counted['by']}")
            start = time.perf_counter()
            SyncEngine(store, remote).run(push=False)
            seconds = time.perf_counter() - start
            counted = proxy.counts()
            rows.append({"metric": "pull with no change after those: requests (s)",
                         "ours": f"{counted['total']} ({seconds:.2f} s)", "target": "-",
                         "met": "-"})
            detail.append(f"no change: {counted['by']}")
        finally:
            remote.close()
            store.close()
            proxy.close()
            stop(serve)
    emit(f"bench_mirror: {n:,} versions at {args.delay_ms:g} ms per request", rows,
         [note, "requests counted at the latency proxy (health checks excluded: none are "
                "sent by the engine)", *detail], args.out)


if __name__ == "__main__":
    main()
