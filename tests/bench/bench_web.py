"""Benchmark: the web page's model list (``GET /``) over 10,000 models.

    python -m tests.bench.bench_web [--models N] [--rounds R] [--out FILE]

A real ``localhub serve`` on 127.0.0.1 holds N models (one version and one model artifact
each; every tenth edited again, so the queue is not uniform). One ``requests.Session``
(keep-alive) fetches the first page, a page deep in the list (keyset token), and a filtered
page, R times each, alternating. Each page is one listing query plus one query for the
page's latest versions and sync states. Target: the median well under 100 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from tests.bench._common import emit, machine_note, median, verdict

TARGET_MS = 100.0


def populate(db: Path, models: int) -> None:
    from localhub.store import SQLiteStore
    from localhub.types import RegisteredModel

    store = SQLiteStore(db, synchronous="OFF")
    with store.batch():
        for i in range(models):
            store.register_model(f"model-{i:05d}", f"s3://bench/model-{i:05d}/v1",
                                 version="v1", model_format_name="onnx", owner="bench")
    with store.batch():
        for i in range(0, models, 10):
            model = store.find(RegisteredModel, name=f"model-{i:05d}")
            assert model is not None
            model.description = f"edited {i}"
            store.update(model)
    store.close()


def main() -> None:
    import requests

    from tests.support.processes import start_serve, stop

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--out")
    args = parser.parse_args()
    notes = [machine_note()]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        populate(root / "r.db", args.models)
        notes.append(f"{args.models:,} models written in {time.perf_counter() - t0:.1f} s")
        proc, port = start_serve(root, root / "r.db", root / "serve.log")
        try:
            base = f"http://127.0.0.1:{port}"
            session = requests.Session()
            first = session.get(base + "/", timeout=30)
            first.raise_for_status()
            after = ""
            for _ in range(20):  # walk 20 pages in: a token deep in the list
                found = re.search(r'after=([^"&]+)', session.get(
                    base + "/?after=" + after, timeout=30).text)
                assert found is not None, "no next page"
                after = found.group(1)
            urls = {"first page": "/", "page 21": "/?after=" + after,
                    "filter 'model-012'": "/?q=model-012",
                    "/readyz/health (HTTP floor)": "/readyz/health"}
            timings: dict[str, list[float]] = {name: [] for name in urls}
            for _ in range(args.rounds):
                for name, path in urls.items():
                    start = time.perf_counter()
                    reply = session.get(base + path, timeout=30)
                    timings[name].append((time.perf_counter() - start) * 1000)
                    assert reply.status_code == 200
                    assert "<table" in reply.text or path.startswith("/readyz")
        finally:
            stop(proc)
    rows = []
    for name, values in timings.items():
        mid = median(values)
        p95 = statistics.quantiles(values, n=20)[-1]
        floor = name.startswith("/readyz")
        rows.append({"metric": f"GET {name}: median ms (p95 {p95:.1f})", "ours": mid,
                     "target": None if floor else f"< {TARGET_MS:.0f}",
                     "met": None if floor else verdict(mid < TARGET_MS)})
    notes.append(f"{args.rounds} rounds, one keep-alive session, 50 models a page")
    emit(f"Web model list over {args.models:,} models", rows, notes, args.out)


if __name__ == "__main__":
    main()
