"""Benchmark 1: local registry operations vs MLflow's model registry on SQLite.

    python -m tests.bench.bench_local [--quick] [--rounds N] [--out FILE]

Both sides run in worker subprocesses (MLflow in its own venv, created on first use under
~/.cache/localhub-bench/mlflow-venv), at equal durability (SQLite synchronous=FULL; ours in WAL
mode, MLflow in SQLite's default rollback journal), interleaved round by round on fresh files.
Registration: 1,000 versions over 100 models, 3 properties each (MLflow: 3 tags, plus one
create_registered_model per model). Updates: 1,000 version descriptions (ours: get + update, as
the kubeflow.hub API needs an object; MLflow: update_model_version by name). Reads at 10,000
versions (100 models x 100; built once per side with synchronous=OFF, which reads ignore).
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from tests.bench._common import (
    Worker,
    emit,
    ensure_mlflow_venv,
    machine_note,
    median,
    verdict,
)

BATCH = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", default=None, help="also write the table to this file")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)
    reg_models, reg_versions = (20, 10) if args.quick else (100, 10)
    read_models, read_versions = (100, 10) if args.quick else (100, 100)
    budget = 0.3 if args.quick else 1.5
    note = machine_note()

    worker = ["-m", "tests.bench._local_worker"]
    sides = {"ours": Worker([sys.executable, *worker, "ours"]),
             "mlflow": Worker([str(ensure_mlflow_venv()), *worker, "mlflow"],
                               env={"MLFLOW_LOGGING_LEVEL": "WARNING"})}
    reg: dict[str, list[float]] = {"ours": [], "mlflow": []}
    # Ours again with ``client.batch()`` of BATCH registrations / updates per commit; MLflow
    # has no batch call, so its per-call figure of the same round is the anchor.
    reg_b: list[float] = []
    upd_b: list[float] = []
    upd: dict[str, list[float]] = {"ours": [], "mlflow": []}
    reads: dict[str, list[dict]] = {"ours": [], "mlflow": []}
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        try:
            for r in range(rounds):
                order = ["ours", "mlflow"] if r % 2 == 0 else ["mlflow", "ours"]
                for side in order:
                    db = f"{tmp}/{side}-reg-{r}.db"
                    res = sides[side].call(op="register", db=db, models=reg_models,
                                           versions=reg_versions)
                    reg[side].append(res["count"] / res["seconds"])
                    res = sides[side].call(op="update", db=db, models=reg_models,
                                           versions=reg_versions)
                    upd[side].append(res["count"] / res["seconds"])
                    sides[side].call(op="close", db=db)
                    if side == "ours":
                        db = f"{tmp}/ours-batch-{r}.db"
                        res = sides[side].call(op="register", db=db, models=reg_models,
                                               versions=reg_versions, batch=BATCH)
                        reg_b.append(res["count"] / res["seconds"])
                        res = sides[side].call(op="update", db=db, models=reg_models,
                                               versions=reg_versions, batch=BATCH)
                        upd_b.append(res["count"] / res["seconds"])
                        sides[side].call(op="close", db=db)
                print(f"round {r + 1}: register/s ours {reg['ours'][-1]:.0f} mlflow "
                      f"{reg['mlflow'][-1]:.0f}; update/s ours {upd['ours'][-1]:.0f} mlflow "
                      f"{upd['mlflow'][-1]:.0f}", file=sys.stderr)
            read_db = {side: f"{tmp}/{side}-read.db" for side in sides}
            for side, w in sides.items():
                print(f"building the {read_models * read_versions} version database for "
                      f"{side} ...", file=sys.stderr)
                w.call(op="register", db=read_db[side], models=read_models,
                       versions=read_versions, sync="OFF")
            for r in range(rounds):
                order = ["ours", "mlflow"] if r % 2 == 0 else ["mlflow", "ours"]
                for side in order:
                    reads[side].append(sides[side].call(op="reads", db=read_db[side],
                                                        models=read_models,
                                                        versions=read_versions, budget=budget))
            size = {side: w.call(op="size", db=read_db[side])["bytes"] for side, w in sides.items()}
            rss = {side: w.call(op="rss")["mib"] for side, w in sides.items()}
        finally:
            for w in sides.values():
                w.close()

    def ratio_up(o: list[float], m: list[float]) -> float:  # higher is better
        return median([a / b for a, b in zip(o, m, strict=False)])

    def read_med(side: str, key: str) -> list[float]:
        return [x[key]["per_op"] for x in reads[side]]

    reg_ratio = ratio_up(reg["ours"], reg["mlflow"])
    upd_ratio = ratio_up(upd["ours"], upd["mlflow"])
    rows = [
        {"metric": f"register / s ({reg_models * reg_versions} versions, {reg_models} models, "
                   "3 props)", "ours": median(reg["ours"]), "anchor": median(reg["mlflow"]),
         "ratio": f"{reg_ratio:.1f}x", "target": ">= 30x", "met": verdict(reg_ratio >= 30)},
        {"metric": f"update description / s ({reg_models * reg_versions})",
         "ours": median(upd["ours"]), "anchor": median(upd["mlflow"]),
         "ratio": f"{upd_ratio:.1f}x", "target": ">= 30x", "met": verdict(upd_ratio >= 30)},
    ]
    for label, ours_b, anchor in (("register", reg_b, reg["mlflow"]),
                                  ("update description", upd_b, upd["mlflow"])):
        ratio = ratio_up(ours_b, anchor)
        rows.append({"metric": f"{label} / s in client.batch() of {BATCH} (one commit each)",
                     "ours": median(ours_b), "anchor": median(anchor), "ratio": f"{ratio:.1f}x",
                     "target": "-", "met": "-"})
    n = read_models * read_versions
    for key, label, target in (("get", "get one version (us)", 100e-6),
                               ("list_models", f"list all {read_models} models (ms)", 5e-3),
                               ("list_versions", f"list one model's {read_versions} versions (ms)",
                                None)):
        ours = [x * (1e6 if key == "get" else 1e3) for x in read_med("ours", key)]
        anchor = [x * (1e6 if key == "get" else 1e3) for x in read_med("mlflow", key)]
        ratio = median([b / a for a, b in zip(ours, anchor, strict=False)])
        limit = None if target is None else target * (1e6 if key == "get" else 1e3)
        rows.append({"metric": f"{label} at {n:,} versions", "ours": median(ours),
                     "anchor": median(anchor), "ratio": f"{ratio:.1f}x faster",
                     "target": "-" if limit is None else f"< {limit:g}",
                     "met": verdict(None if limit is None else median(ours) < limit)})
    rows.append({"metric": "peak RSS of the worker (MiB)", "ours": rss["ours"],
                 "anchor": rss["mlflow"], "ratio": f"{rss['mlflow'] / rss['ours']:.1f}x less",
                 "target": "-", "met": "-"})
    rows.append({"metric": f"database size at {n:,} versions (KiB)", "ours": size["ours"] / 1024,
                 "anchor": size["mlflow"] / 1024,
                 "ratio": f"{size['ours'] / size['mlflow']:.2f}x of MLflow's", "target": "-",
                 "met": "-"})
    emit("bench_local: local operations vs MLflow registry (SQLite)" + (" [quick]" if args.quick
                                                                       else ""), rows,
         [note, (f"{rounds} interleaved rounds; medians over rounds; ratio = median of per-round "
                "ratios"), "anchor: MLflow " + _mlflow_version() + " MlflowClient on sqlite:///"],
         args.out)


def _mlflow_version() -> str:
    import subprocess
    out = subprocess.run([str(ensure_mlflow_venv()), "-c",
                          "import importlib.metadata as m; print(m.version('mlflow-skinny'))"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


if __name__ == "__main__":
    main()
