"""Benchmark 2: cold start. ``import localhub`` and ``localhub models --json`` on a 1,000-model
database, each a fresh process, vs MLflow's import plus client construction.

    python -m tests.bench.bench_coldstart [--quick] [--runs N] [--out FILE]

Each figure is the median wall time of N fresh subprocesses, run interleaved (ours, anchor,
ours, anchor, ...). "Cold" means a fresh interpreter; the OS page cache is not dropped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench._common import CACHE, emit, ensure_mlflow_venv, machine_note, median, verdict

MLFLOW_IMPORT = """
import mlflow
from mlflow import MlflowClient
MlflowClient(tracking_uri="sqlite:///{db}", registry_uri="sqlite:///{db}")
"""
MLFLOW_LIST = """
import logging
from mlflow import MlflowClient
c = MlflowClient(tracking_uri="sqlite:///{db}", registry_uri="sqlite:///{db}")
n, tok = 0, None
while True:
    page = c.search_registered_models(max_results=1000, page_token=tok)
    n += len(page); tok = page.token
    if not tok: break
assert n == {n}, n
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured process: bytecode caching on, as for an installed
    package (a shell that sets PYTHONDONTWRITEBYTECODE would make every start compile the
    editable source while the anchor's pip-installed files have their bytecode), in a cache
    beside the MLflow venv so the work tree stays clean."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    return {**env, **(extra or {})}


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=_env(env))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 15)
    models = 1000
    note = machine_note()
    mlpy = str(ensure_mlflow_venv())
    ours_py = sys.executable
    localhub_bin = shutil.which("localhub", path=str(Path(ours_py).parent)) or "localhub"
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        db, mldb = f"{tmp}/ours.db", f"{tmp}/mlflow.db"
        subprocess.run([ours_py, "-c", (
            "import sys; from localhub import ModelRegistryClient, SQLiteStore\n"
            "c = ModelRegistryClient('http://127.0.0.1:9', store=SQLiteStore(sys.argv[1], "
            "synchronous='OFF'))\n"
            f"for i in range({models}):\n"
            "    c.register_model(f'model-{i:04d}', f's3://b/{i}', version='v1', "
            "model_format_name='onnx', metadata={'a': 1, 'b': 'x', 'c': 0.5})\n"), db],
            check=True)
        env = {"MLFLOW_LOGGING_LEVEL": "WARNING"}
        subprocess.run([mlpy, "-c", (
            "from mlflow import MlflowClient\n"
            f"c = MlflowClient(tracking_uri='sqlite:///{mldb}', registry_uri='sqlite:///{mldb}')\n"
            f"for i in range({models}):\n"
            "    c.create_registered_model(f'model-{i:04d}')\n"
            "    c.create_model_version(f'model-{i:04d}', f's3://b/{i}', "
            "tags={'a': '1', 'b': 'x', 'c': '0.5'})\n")], check=True, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Warm-up (untimed): fills the bytecode cache and the page cache for both sides.
        timed([localhub_bin, "--db", db, "models", "--json"])
        timed([mlpy, "-c", MLFLOW_LIST.format(db=mldb, n=models)], env)
        res: dict[str, list[float]] = {k: [] for k in ("py", "mlpy", "imp", "mlimp", "cli",
                                                       "mllist")}
        for _ in range(runs):
            res["py"].append(timed([ours_py, "-c", "pass"]))
            res["imp"].append(timed([ours_py, "-c", "import localhub"]))
            res["mlimp"].append(timed([mlpy, "-c", MLFLOW_IMPORT.format(db=mldb)], env))
            res["cli"].append(timed([localhub_bin, "--db", db, "models", "--json"]))
            res["mllist"].append(timed([mlpy, "-c", MLFLOW_LIST.format(db=mldb, n=models)],
                                       env))
            res["mlpy"].append(timed([mlpy, "-c", "pass"]))
    imp, cli, mlimp, mllist = (median(res[k]) for k in ("imp", "cli", "mlimp", "mllist"))
    rows = [
        {"metric": "import localhub (s)  vs  import mlflow + MlflowClient()", "ours": imp,
         "anchor": mlimp, "ratio": f"{mlimp / imp:.1f}x faster", "target": "< 0.15 s",
         "met": verdict(imp < 0.15)},
        {"metric": f"localhub models --json, {models} models (s)  vs  MLflow import + client",
         "ours": cli, "anchor": mlimp, "ratio": f"{mlimp / cli:.1f}x faster",
         "target": "< 0.5 s", "met": verdict(cli < 0.5)},
        {"metric": f"(extra) list all {models} models in a fresh process (s)", "ours": cli,
         "anchor": mllist, "ratio": f"{mllist / cli:.1f}x faster", "target": "-", "met": "-"},
        {"metric": "(baseline) bare interpreter start, python -c pass (s)",
         "ours": median(res["py"]), "anchor": median(res["mlpy"]), "ratio": "-", "target": "-",
         "met": "-"},
    ]
    emit("bench_coldstart: fresh-process start" + (" [quick]" if args.quick else ""), rows,
         [note, (f"median of {runs} interleaved fresh subprocesses per figure, after one untimed "
                "warm-up; page cache and bytecode cache warm (PYTHONDONTWRITEBYTECODE unset "
                "for the measured processes)")],
         args.out)


if __name__ == "__main__":
    main()
