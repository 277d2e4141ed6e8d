"""Benchmark 3: 1,000 registrations queued offline and pushed to ``localhub serve``, vs the
official ``model_registry.ModelRegistry`` registering the same 1,000 against another fresh
``localhub serve``.

    python -m tests.bench.bench_push [--quick] [--rounds N] [--out FILE]

Requests are counted at the server from its access log (one line per request on stderr,
health checks excluded). Each round starts two fresh servers; sides alternate first.
Budgets: a push of N new models (one version each), then a push of one new version of each of
those N now-synced models, counted at the server.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from tests.bench._common import count_requests, emit, machine_note, median, verdict
from tests.support.processes import start_serve, stop

PROPS: dict[str, Any] = {"accuracy": 0.93, "epochs": 12, "framework": "torch"}


def _pairs(models: int, versions: int) -> list[tuple[str, str]]:
    return [(f"model-{m:04d}", f"v{v}") for m in range(models) for v in range(versions)]


class Server:
    def __init__(self, tmp: Path, name: str) -> None:
        self.log = tmp / f"{name}.log"
        self.proc, self.port = start_serve(tmp / f"{name}-home", tmp / f"{name}.db", self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        self.mark = 0

    def lines_since_mark(self) -> list[str]:
        """Access-log request lines (health checks excluded) since the last call."""
        time.sleep(0.2)  # let the last access-log lines reach the file
        text = self.log.read_text(errors="replace")
        lines = [ln for ln in text[self.mark:].splitlines()
                 if count_requests(ln + "\n")]
        self.mark = len(text)
        return lines

    def requests_since_mark(self) -> int:
        return len(self.lines_since_mark())

    def push_requests_since_mark(self) -> tuple[int, int]:
        """(requests, of which the per-run check): a push opens with one GET of a model."""
        lines = self.lines_since_mark()
        probe = 1 if lines and " GET " in lines[0] else 0
        return len(lines), probe

    def close(self) -> None:
        stop(self.proc)


def push(store, url: str) -> tuple[float, object]:
    from localhub.rest_client import RemoteRegistry
    from localhub.sync import SyncEngine

    remote = RemoteRegistry(url)
    start = time.perf_counter()
    report = SyncEngine(store, remote).run(pull=False)
    elapsed = time.perf_counter() - start
    remote.close()
    assert report.remaining == 0 and report.conflicts == 0 and not report.errors, report
    return elapsed, report


def queue(store, pairs: list[tuple[str, str]]) -> None:
    for name, version in pairs:
        store.register_model(name, f"s3://bucket/{name}/{version}", version=version,
                             model_format_name="onnx", model_format_version="1",
                             author="bench", metadata=PROPS)


def ours_round(tmp: Path, pairs: list[tuple[str, str]]) -> dict:
    from localhub import SQLiteStore

    server = Server(tmp, "ours-remote")
    store = SQLiteStore(tmp / "ours-local.db")
    try:
        queue(store, pairs)
        server.requests_since_mark()
        elapsed, _ = push(store, server.url)
        return {"seconds": elapsed, "requests": server.requests_since_mark()}
    finally:
        store.close()
        server.close()


def official_round(tmp: Path, pairs: list[tuple[str, str]]) -> dict:
    from model_registry import ModelRegistry

    server = Server(tmp, "official-remote")
    try:
        client = ModelRegistry("http://127.0.0.1", server.port, author="bench",
                               is_secure=False, user_token="unused")
        server.requests_since_mark()
        start = time.perf_counter()
        for name, version in pairs:
            client.register_model(name, f"s3://bucket/{name}/{version}", version=version,
                                  model_format_name="onnx", model_format_version="1",
                                  metadata=PROPS)
        elapsed = time.perf_counter() - start
        return {"seconds": elapsed, "requests": server.requests_since_mark()}
    finally:
        server.close()


def budgets(tmp: Path, n: int) -> dict:
    """Requests per new model, and per new version of a synced model, ours and official."""
    from model_registry import ModelRegistry

    from localhub import SQLiteStore

    out = {}
    server = Server(tmp, "budget-ours")
    store = SQLiteStore(tmp / "budget-local.db")
    try:
        queue(store, _pairs(n, 1))
        server.requests_since_mark()
        push(store, server.url)
        total, probe = server.push_requests_since_mark()
        out["ours_model"] = (total - probe) / n
        queue(store, [(f"model-{m:04d}", "v1") for m in range(n)])
        push(store, server.url)
        total, probe2 = server.push_requests_since_mark()
        out["ours_version"] = (total - probe2) / n
        out["probe"] = max(probe, probe2)
    finally:
        store.close()
        server.close()
    server = Server(tmp, "budget-official")
    try:
        client = ModelRegistry("http://127.0.0.1", server.port, author="bench",
                               is_secure=False, user_token="unused")
        server.requests_since_mark()
        for m in range(n):
            client.register_model(f"model-{m:04d}", "s3://b/x", version="v0",
                                  model_format_name="onnx", model_format_version="1")
        out["off_model"] = server.requests_since_mark() / n
        for m in range(n):
            client.register_model(f"model-{m:04d}", "s3://b/y", version="v1",
                                  model_format_name="onnx", model_format_version="1")
        out["off_version"] = server.requests_since_mark() / n
    finally:
        server.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rounds = args.rounds or (1 if args.quick else 3)
    models, versions = (20, 5) if args.quick else (100, 10)
    pairs = _pairs(models, versions)
    note = machine_note()
    res: dict[str, list[dict]] = {"ours": [], "official": []}
    for r in range(rounds):
        order = ["ours", "official"] if r % 2 == 0 else ["official", "ours"]
        for side in order:
            with tempfile.TemporaryDirectory(prefix=f"bench-push-{side}-") as tmp:
                fn = ours_round if side == "ours" else official_round
                res[side].append(fn(Path(tmp), pairs))
        print(f"round {r + 1}: ours {res['ours'][-1]}, official {res['official'][-1]}",
              file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-push-budget-") as tmp:
        b = budgets(Path(tmp), 20 if args.quick else 100)
    n = len(pairs)
    ours_s = [x["seconds"] for x in res["ours"]]
    off_s = [x["seconds"] for x in res["official"]]
    ratio = median([o / u for u, o in zip(ours_s, off_s, strict=False)])
    ours_req = median([x["requests"] / n for x in res["ours"]])
    off_req = median([x["requests"] / n for x in res["official"]])
    rows = [
        {"metric": f"wall time for {n:,} registrations ({models} models), s", "ours":
         median(ours_s), "anchor": median(off_s), "ratio": f"{ratio:.1f}x faster",
         "target": ">= 20x", "met": verdict(ratio >= 20)},
        {"metric": "registrations / s", "ours": n / median(ours_s), "anchor": n / median(off_s),
         "ratio": "-", "target": "-", "met": "-"},
        {"metric": "requests per registration (at the server)", "ours": ours_req,
         "anchor": off_req, "ratio": f"{off_req / ours_req:.1f}x fewer", "target": "-",
         "met": "-"},
        {"metric": "requests per new model (model+version+artifact), per-run check excluded",
         "ours": b["ours_model"],
         "anchor": b["off_model"], "ratio": "-", "target": "<= 3",
         "met": verdict(b["ours_model"] <= 3)},
        {"metric": "requests per new version of a synced model, per-run check excluded",
         "ours": b["ours_version"],
         "anchor": b["off_version"], "ratio": "-", "target": "<= 2",
         "met": verdict(b["ours_version"] <= 2)},
    ]
    rows.append({"metric": "fixed requests per push run (identity check GET)",
                 "ours": b["probe"], "anchor": "-", "ratio": "-", "target": "-", "met": "-"})
    emit("bench_push: offline queue pushed vs official client registering directly"
         + (" [quick]" if args.quick else ""), rows,
         [note, (f"{rounds} interleaved rounds, fresh `localhub serve` per side per round; "
                "ours = queue offline (untimed) then SyncEngine.run(pull=False) (timed); "
                "anchor = model_registry.ModelRegistry.register_model in a loop (timed)")],
         args.out)


if __name__ == "__main__":
    main()
