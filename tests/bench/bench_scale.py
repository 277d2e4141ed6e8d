"""Benchmark 5: scale. A push of 100,000 queued operations (peak RSS of the pushing process),
and local register / lookup rates at 100,000 versions vs at 1,000.

    python -m tests.bench.bench_scale [--quick] [--ops N] [--out FILE]

``--quick`` uses 10,000 operations and 10,000 versions. The queue is built in one subprocess,
pushed to a ``localhub serve`` by a second, fresh subprocess that reports its own peak RSS
(``resource.getrusage``); the server's memory is not counted. An operation is one outbox row:
a registration of a new version queues 2 (version, artifact), of a new model 3.
Rates: 1,000 registrations (synchronous=FULL) and random ``get_model_version`` lookups on a
store that already holds ~1,000 versions vs one that holds the large count, interleaved.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from tests.bench._common import emit, machine_note, median, verdict

PER_MODEL = 100
PROPS: dict[str, Any] = {"accuracy": 0.93, "epochs": 12, "framework": "torch"}

CHILD_QUEUE = """
import sys
from localhub import SQLiteStore
s = SQLiteStore(sys.argv[1], synchronous="OFF")
models, per = int(sys.argv[2]), int(sys.argv[3])
for m in range(models):
    for v in range(per):
        s.register_model(f"model-{m:05d}", f"s3://b/{m}/{v}", version=f"v{v}",
                         model_format_name="onnx", model_format_version="1", author="bench",
                         metadata={"accuracy": 0.93, "epochs": 12, "framework": "torch"})
with s.db.read() as c:
    print(c.execute("SELECT count(*) FROM outbox").fetchone()[0])
s.close()
"""

CHILD_PUSH = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from localhub import SQLiteStore
from localhub.rest_client import RemoteRegistry
from localhub.sync import SyncEngine
s = SQLiteStore(sys.argv[1])
start = time.perf_counter()
r = SyncEngine(s, RemoteRegistry(sys.argv[2])).run(pull=False)
print(json.dumps({"seconds": time.perf_counter() - start, "remaining": r.remaining,
                  "created": r.created, "errors": r.errors[:3], "stopped": r.stopped,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def rates(store, models: int, start_v: int, n: int, rng: random.Random) -> dict:
    """Register n new versions spread over the existing models, then n random lookups."""
    t = time.perf_counter()
    for i in range(n):
        m = i % models
        store.register_model(f"model-{m:05d}", f"s3://b/{m}/x{start_v}-{i}",
                             version=f"x{start_v}-{i}", model_format_name="onnx",
                             model_format_version="1", metadata=PROPS)
    reg = n / (time.perf_counter() - t)
    from localhub import ModelRegistry  # noqa: F401  (lookups through the public facade)
    t = time.perf_counter()
    for _ in range(n):
        m = rng.randrange(models)
        assert store.find_version(f"model-{m:05d}", f"v{rng.randrange(PER_MODEL)}")
    return {"register": reg, "lookup": n / (time.perf_counter() - t)}


class Lookup:
    """A store with a by-name version lookup through the public client."""

    def __init__(self, path: Path, sync: Any = "FULL") -> None:
        from localhub import ModelRegistryClient, SQLiteStore
        self.store = SQLiteStore(path, synchronous=sync)
        self.client = ModelRegistryClient("http://127.0.0.1:9", store=self.store, author="b")

    def register_model(self, *a, **k):
        return self.client.register_model(*a, **k)

    def find_version(self, name: str, version: str):
        return self.client.get_model_version(name, version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ops", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    ops = args.ops or (10_000 if args.quick else 100_000)
    rounds = args.rounds or (2 if args.quick else 3)
    note = machine_note()
    big_models = max(1, round(ops / (1 + 2 * PER_MODEL)))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_s:
        tmp = Path(tmp_s)
        from tests.bench.bench_push import Server

        # -- push of `ops` queued operations, RSS of the pushing process
        queued = int(subprocess.run([sys.executable, "-c", CHILD_QUEUE, str(tmp / "q.db"),
                                     str(big_models), str(PER_MODEL)], check=True,
                                    capture_output=True, text=True).stdout)
        server = Server(tmp, "remote")
        try:
            out = subprocess.run([sys.executable, "-c", CHILD_PUSH, str(tmp / "q.db"),
                                  server.url], check=True, capture_output=True, text=True)
            push = json.loads(out.stdout)
        finally:
            server.close()
        assert push["remaining"] == 0, push
        rows += [
            {"metric": f"push {queued:,} queued operations: wall time, s",
             "ours": push["seconds"], "target": "-", "met": "-"},
            {"metric": "operations pushed / s", "ours": queued / push["seconds"], "target": "-",
             "met": "-"},
            {"metric": "peak RSS of the pushing process, MiB", "ours": push["rss_mib"],
             "target": "< 200", "met": verdict(push["rss_mib"] < 200)},
        ]
        # -- rates at ~1,000 vs at the large count
        versions_big = ops
        small_models, big_m = 10, max(1, versions_big // PER_MODEL)
        subprocess.run([sys.executable, "-c", CHILD_QUEUE, str(tmp / "small.db"),
                        str(small_models), str(PER_MODEL)], check=True, capture_output=True)
        subprocess.run([sys.executable, "-c", CHILD_QUEUE, str(tmp / "big.db"), str(big_m),
                        str(PER_MODEL)], check=True, capture_output=True)
        small, big = Lookup(tmp / "small.db"), Lookup(tmp / "big.db")
        rng = random.Random(3)
        res: dict[str, list[dict]] = {"small": [], "big": []}
        n = 300 if args.quick else 1000
        for r in range(rounds):
            order = [("small", small, small_models), ("big", big, big_m)]
            for name, st, models in (order if r % 2 == 0 else order[::-1]):
                res[name].append(rates(st, models, r, n, rng))
        for key, label in (("register", "register / s (synchronous=FULL)"),
                           ("lookup", "get_model_version by name / s")):
            s_val = median([x[key] for x in res["small"]])
            b_val = median([x[key] for x in res["big"]])
            pairs = zip(res["small"], res["big"], strict=False)
            ratio = median([b[key] / s[key] for s, b in pairs])
            rows.append({"metric": f"{label}: at {versions_big:,} (ours) vs at "
                                   f"{small_models * PER_MODEL:,} (anchor column)",
                         "ours": b_val, "anchor": s_val, "ratio": f"{ratio:.2f}",
                         "target": ">= 0.80", "met": verdict(ratio >= 0.8)})
    emit("bench_scale" + (" [quick]" if args.quick else ""), rows,
         [note, (f"{rounds} interleaved rounds of {n} operations for the rates; the 'anchor' "
                "column here is the same store at ~1,000 versions")], args.out)


if __name__ == "__main__":
    main()
