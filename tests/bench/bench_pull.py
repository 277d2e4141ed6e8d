"""Benchmark 4: mirror a remote of 10,000 versions into an empty store, then an incremental
pull with no remote change.

    python -m tests.bench.bench_pull [--quick] [--out FILE]

The remote is a ``localhub serve`` whose database is built directly with the store
(100 models x 100 versions, each with its artifact and 3 properties: the same rows a push would
leave, much faster to make). Requests are counted at the server, by entity kind. There is no
anchor: the official client has no mirror operation.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
import warnings
from pathlib import Path

from tests.bench._common import emit, machine_note, verdict
from tests.bench.bench_push import PROPS, Server


def kind_of(line: str) -> str:
    path = line.split()[3]
    path = re.sub(r"^/api/model_registry/v1[^/]*", "", path)
    if path.endswith("/artifacts") or path.startswith("/artifacts"):
        return "artifacts"
    if path.startswith("/model_versions"):
        return "model_versions"
    if path.startswith("/registered_models"):
        return "registered_models"
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from localhub import SQLiteStore
    from localhub.rest_client import RemoteRegistry
    from localhub.sync import SyncEngine

    models, versions = (100, 10) if args.quick else (100, 100)
    n = models * versions
    note = machine_note()
    with tempfile.TemporaryDirectory(prefix="bench-pull-") as tmp_s:
        tmp = Path(tmp_s)
        seed = SQLiteStore(tmp / "remote.db", synchronous="OFF")
        for m in range(models):
            for v in range(versions):
                seed.register_model(f"model-{m:04d}", f"s3://b/{m}/{v}", version=f"v{v}",
                                    model_format_name="onnx", model_format_version="1",
                                    author="bench", metadata=PROPS)
        seed.close()
        server = Server(tmp, "remote")
        server.lines_since_mark()
        server.log = server.log  # (for clarity: the db file is tmp/remote.db)
        try:
            store = SQLiteStore(tmp / "mirror.db")
            remote = RemoteRegistry(server.url)
            start = time.perf_counter()
            report = SyncEngine(store, remote).run(push=False)
            mirror_s = time.perf_counter() - start
            assert report.pulled == models + 2 * n, report
            lines = server.lines_since_mark()
            start = time.perf_counter()
            again = SyncEngine(store, remote).run(push=False)
            incr_s = time.perf_counter() - start
            assert again.pulled == 0, again
            incr = server.lines_since_mark()
            store.close()
        finally:
            server.close()
    kinds = ("registered_models", "model_versions", "artifacts")
    # A run opens with one GET of a known model: the check of the remote's pinned identity.
    probe = [ln for ln in incr[:1] if re.search(r" GET \S*/registered_models/\d+ ", ln)]
    incr = incr[len(probe):]
    per_kind = {k: sum(1 for ln in incr if kind_of(ln) == k) for k in kinds}
    other = [ln for ln in incr if kind_of(ln) not in kinds]
    rows = [
        {"metric": f"mirror {n:,} versions ({models + 2 * n:,} entities) into an empty store, s",
         "ours": mirror_s, "target": "-", "met": "-"},
        {"metric": "entities pulled / s", "ours": (models + 2 * n) / mirror_s, "target": "-",
         "met": "-"},
        {"metric": "requests for the mirror", "ours": len(lines), "target": "-", "met": "-"},
        {"metric": "incremental pull, no change: wall time, s", "ours": incr_s, "target": "-",
         "met": "-"},
    ]
    for k in kinds:
        rows.append({"metric": f"incremental pull, no change: requests for {k}",
                     "ours": per_kind[k], "target": "<= 1", "met": verdict(per_kind[k] <= 1)})
    rows.append({"metric": "incremental pull: identity check per run (GET one model)",
                 "ours": len(probe), "target": "-", "met": "-"})
    if other:
        rows.append({"metric": "incremental pull: other requests", "ours": len(other),
                     "target": "-", "met": "-"})
    emit("bench_pull: mirror and incremental pull" + (" [quick]" if args.quick else ""), rows,
         [note, ("no anchor (the official client has no mirror); requests counted at the "
                "server access log"), *(f"other request: {ln}" for ln in other[:5]),
          *(f"incremental pull request: {ln.split(' ', 2)[2]}" for ln in probe + incr)], args.out)


if __name__ == "__main__":
    main()
