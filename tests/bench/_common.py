"""Shared helpers for the hand-run benchmarks in ``tests/bench`` (not part of the test suite).

Method (issue #6): ours and the anchor run interleaved in the same run (round 1 ours, round 1
anchor, round 2 ours, ...), on fresh databases each round; the tables show medians over rounds
and the median of the per-round ratios. Absolute figures drift on a shared machine; ratios of
interleaved runs hold.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parents[1]

CACHE = Path(os.environ.get("LOCALHUB_BENCH_CACHE", Path.home() / ".cache" / "localhub-bench"))
MLFLOW_VENV = CACHE / "mlflow-venv"
MLFLOW_REQS = ["mlflow-skinny", "sqlalchemy", "alembic"]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def peak_rss_mib() -> float:
    """Peak RSS of this process in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine_note() -> str:
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return (f"python {platform.python_version()}, {os.cpu_count()} cpus, load average "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start, "
            f"{time.strftime('%Y-%m-%d %H:%M')}")


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) >= 0.1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(title: str, rows: list[dict[str, Any]]) -> str:
    """A Markdown table: metric, ours, anchor, ratio, target, met."""
    cols = ["metric", "ours", "anchor", "ratio", "target", "met"]
    body = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
    lines = [f"### {title}", "",
             "| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=False)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for b in body:
        lines.append("| " + " | ".join(v.ljust(w) for v, w in zip(b, widths, strict=False)) + " |")
    return "\n".join(lines)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def emit(title: str, rows: list[dict[str, Any]], notes: list[str], out: str | None) -> None:
    text = table(title, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)


def ensure_mlflow_venv() -> Path:
    """The MLflow anchor's interpreter, creating its venv on first use."""
    python = MLFLOW_VENV / "bin" / "python"
    if python.exists():
        return python
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"creating the MLflow venv at {MLFLOW_VENV} (once) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *MLFLOW_REQS], check=True)
    return python


class Worker:
    """A long-lived worker subprocess speaking JSON lines (one command, one answer)."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        # cwd is the checkout, so ``python -m tests.bench...`` finds the tests package.
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env={**os.environ, **(env or {})}, cwd=ROOT)

    def call(self, **cmd: Any) -> Any:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker died on {cmd}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"worker error on {cmd['op']}: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call(op="quit")
            except RuntimeError:
                pass
            self.proc.wait(30)


def serve_loop(handlers: dict[str, Any]) -> None:
    """Worker side of :class:`Worker`."""
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        if op == "quit":
            print(json.dumps({"ok": True}), flush=True)
            return
        try:
            result = handlers[op](**cmd)
        except Exception as exc:  # noqa: BLE001  (reported to the driver)
            import traceback
            result = {"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"}
        print(json.dumps(result), flush=True)


def count_requests(log_text: str) -> dict[str, int]:
    """Requests in a ``localhub serve`` access log, by method (health checks excluded)."""
    counts: dict[str, int] = {}
    line = re.compile(r" (GET|POST|PATCH|PUT|DELETE) (\S+) \d{3} [\d.]+ms$", re.MULTILINE)
    for m in line.finditer(log_text):
        if "/readyz/" in m.group(2):
            continue
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts
