"""Benchmark 6: ``localhub serve`` throughput on loopback: get-by-id and list-one-page, with 1
and 8 concurrent clients.

    python -m tests.bench.bench_serve [--quick] [--seconds S] [--out FILE]

The load generator is Python threads, one ``requests.Session`` each (keep-alive), bounded by
request count and time, against 127.0.0.1 only. The server holds 100 models x 10 versions.
The generator shares the machine's cores with the server (2 here), so the figures are a floor.
No anchor: the server being measured is ours; the runs of each case alternate.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
import warnings
from pathlib import Path

from tests.bench._common import emit, machine_note, median

API = "/api/model_registry/v1"


def load(base: str, paths: list[str], clients: int, seconds: float, max_requests: int) -> dict:
    import requests

    lock = threading.Lock()
    done = [0]
    errors = [0]
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        local: list[float] = []
        while time.perf_counter() < stop_at:
            with lock:
                if done[0] >= max_requests:
                    break
                done[0] += 1
            t = time.perf_counter()
            resp = session.get(base + rng.choice(paths), timeout=10)
            local.append(time.perf_counter() - t)
            if resp.status_code != 200:
                with lock:
                    errors[0] += 1
        session.close()
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "errors": errors[0],
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000, "n": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    seconds = args.seconds or (1.5 if args.quick else 8.0)
    rounds = args.rounds or (1 if args.quick else 3)
    note = machine_note()
    from localhub import SQLiteStore

    from tests.bench.bench_push import PROPS, Server

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp_s:
        tmp = Path(tmp_s)
        seed = SQLiteStore(tmp / "remote.db", synchronous="OFF")
        ids = []
        for m in range(100):
            for v in range(10):
                _, mv, _ = seed.register_model(f"model-{m:04d}", f"s3://b/{m}/{v}",
                                               version=f"v{v}", model_format_name="onnx",
                                               metadata=PROPS)
                ids.append(mv.id)
        seed.close()
        server = Server(tmp, "remote")
        base = server.url + API
        cases = {
            "get-by-id": [f"/model_versions/{i}" for i in ids],
            "list-one-page": ["/model_versions?pageSize=100",
                              "/registered_models?pageSize=100"],
        }
        res: dict[tuple[str, int], list[dict]] = {}
        try:
            load(server.url, [f"{API}/model_versions/{ids[0]}"], 1, 0.5, 200)  # warm-up
            for _ in range(rounds):
                for case, paths in cases.items():
                    for clients in (1, 8):
                        res.setdefault((case, clients), []).append(
                            load(base, paths, clients, seconds, 200_000))
        finally:
            server.close()
    rows = []
    for (case, clients), runs in res.items():
        rows.append({"metric": f"{case}, {clients} client(s): requests / s (p50 / p99 ms: "
                               f"{median([x['p50_ms'] for x in runs]):.1f} / "
                               f"{median([x['p99_ms'] for x in runs]):.1f}; errors "
                               f"{sum(x['errors'] for x in runs)})",
                     "ours": median([x["rps"] for x in runs]), "target": "-", "met": "-"})
    emit("bench_serve: localhub serve on loopback" + (" [quick]" if args.quick else ""), rows,
         [note, (f"{rounds} round(s) of {seconds:g} s per case; median requests/s over rounds; "
                "list-one-page alternates /model_versions and /registered_models with "
                "pageSize=100"), ("load generator: Python threads + requests.Session, same "
                "machine")], args.out)


if __name__ == "__main__":
    main()
