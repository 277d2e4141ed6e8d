"""Kill points: kill -9 of sync and registration processes at random moments and at each step.

Three kinds of runs, each one counted in ``runs``:

* **random** (``--runs``, default 50): a fresh ``Stack`` (a real ``localhub serve``), a local
  store where some registrations are already synced and ``--ops`` (default 300) operations are
  queued on top (new registrations, new versions of existing models, and updates of
  descriptions, custom properties, states and artifact URIs, of synced and unsynced entities).
  A ``sync`` process (``python -m localhub.cli sync`` in even runs, a ``SyncEngine`` script in
  odd ones) is killed with SIGKILL up to ``--max-kills`` times: the first kill once the queue
  has shrunk by a random share, later ones at a random delay after the start or at a random
  share (so also during start-up, during the pull, or between the marker and the POST). Then
  a last sync runs to completion.
* **step** (``--steps all|quick|none``): one shared stack with the fault proxy. The proxy's
  ``hold`` rule stops the k-th POST of a registration (model, version, artifact) or the k-th
  PATCH of an update of a synced model/version/artifact, either *before* it reaches the server
  or *after* the server applied it (reply not sent). Once the proxy log shows the hold, the
  ``localhub sync`` process is killed -9 and a sync is rerun. ``late`` (full run only) holds
  the request before the server for a few seconds, so it reaches the server *after* the
  rerun finished: a stale request from a dead client. ``edit`` (full run only) kills after
  the server applied the request, then edits the model, version and artifact locally before
  the rerun (the user goes on working). Each case checks that the remote held exactly the
  expected part of the push at the moment of the kill.
* **local** (``--local-runs``): a process calling ``register_model`` in a loop is killed -9
  at random moments (the first one possibly while it creates the database), ``--local-kills``
  times, restarting where it stopped. Then: the database passes ``integrity_check``, every
  registration is whole (model, version and its artifact) and its creates are all queued or
  none, and a sync makes the remote equal.

Figures of the line ``kill: runs=N converged=N duplicates=N lost=N silent_overwrites=N``:

* ``runs``: random + step + local runs; ``converged``: runs whose final sync left nothing
  queued, no conflict recorded, nothing set aside, and the remote equal to the local store;
* ``duplicates``: rows sharing kind, parent and name on the remote, plus remote entities the
  local store never had;
* ``lost``: entities of the local store missing on the remote or with other content there,
  plus (local runs) torn registrations and outbox rows that do not match the registrations
  (a run that recorded conflicts counts no lost entities: a conflict keeps the local value
  and lists the difference; that run is not converged, and its notes say how many differ);
* ``silent_overwrites``: local entities whose content a sync changed (with one writer, sync
  must leave the local content as it was).

Run from the repo root (about 5 minutes for the full run; ``--quick`` takes ~20 s)::

    python -m tests.soak.soak_kill [--quick] [--runs 50] [--ops 300] [--seed 1]

``--edits N`` makes N local updates after each kill of a random run (the user goes on working
between a crash and the next sync; off by default, as in the issue).
``--seed`` makes every random choice reproducible (the operations, kill thresholds and
delays, which run uses the CLI); where a kill lands in time still depends on the scheduler.
``--keep`` keeps the folders of failing runs (their path is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, SyncReport, list_conflicts, sync_status
from localhub.types import (
    ArtifactState,
    ModelArtifact,
    ModelVersion,
    ModelVersionState,
    RegisteredModel,
    RegisteredModelState,
)

from tests.soak._soak import Stack, Tally, compare, content, finish, localhub_cmd

SYNC_SCRIPT = (
    "import sys\n"
    "from localhub.rest_client import RemoteRegistry\n"
    "from localhub.store import SQLiteStore\n"
    "from localhub.sync import SyncEngine\n"
    "report = SyncEngine(SQLiteStore(sys.argv[1]), RemoteRegistry(sys.argv[2])).run("
    "pull=sys.argv[3] == '1')\n"
    "print(report.to_json())\n")

# Registration j: model <prefix>m<j // 2> (its first registration creates the model), version
# v<j % 2>. The parent finds where to restart from the number of versions.
REGISTER_SCRIPT = (
    "import sys\n"
    "from localhub.store import SQLiteStore\n"
    "store = SQLiteStore(sys.argv[1])\n"
    "prefix, j = sys.argv[2], int(sys.argv[3])\n"
    "while True:\n"
    "    store.register_model(f'{prefix}m{j // 2:04d}', f's3://bucket/{prefix}{j}',\n"
    "                         version=f'v{j % 2}', version_description=f'registration {j}',\n"
    "                         metadata={'j': j, 'pad': 'x' * 200}, model_format_name='onnx')\n"
    "    j += 1\n")

LONG_HOLD = 3600.0  # a held "before" request must never reach the server while the stack lives
LATE_HOLD = 2.5  # "late": long enough for the rerun to finish first
POLL = 0.003


@dataclass
class StepResult:
    """One kill at a proxy hold: where it held, what the remote had then, the rerun."""

    method: str
    nth: int
    phase: str
    path: str = ""
    held: bool = False
    lost_at_kill: int = -1
    expected_at_kill: int = -1
    adopted: int = 0
    created: int = 0
    updated: int = 0
    late_statuses: list[Any] = field(default_factory=list)


@dataclass
class KillTally(Tally):
    """The figures, plus what the soak actually did (for the CI test to check)."""

    kills: int = 0
    random_runs: int = 0
    cli_runs: int = 0
    steps: list[StepResult] = field(default_factory=list)
    local_kills: int = 0
    registrations: int = 0


@dataclass
class Outcome:
    """The result of one run."""

    converged: bool = True
    lost: int = 0
    duplicates: int = 0
    silent: int = 0
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.converged = False
        self.problems.append(problem)


# -- helpers ------------------------------------------------------------------------------------


def _queued(store: SQLiteStore) -> int:
    with store.db.read() as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL ``proc`` if it still runs; whether it did."""
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def _subset(tree: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {name: value for name, value in tree.items() if name.startswith(prefix)}


def _engine_sync(store: SQLiteStore, url: str, *, pull: bool) -> SyncReport:
    remote = RemoteRegistry(url)
    try:
        return SyncEngine(store, remote).run(pull=pull)
    finally:
        remote.close()


def _report_problems(report: dict[str, Any]) -> list[str]:
    """What keeps a final sync report from being clean."""
    bad = [f"{key}={report[key]}" for key in ("remaining", "conflicts", "set_aside")
           if report.get(key)]
    if report.get("stopped"):
        bad.append(f"stopped={report['stopped']}")
    if report.get("errors"):
        bad.append(f"errors={report['errors']}")
    return bad


def _check_final(out: Outcome, store: SQLiteStore, expected: dict[str, Any],
                 remote: dict[str, Any], duplicates: int) -> None:
    """Remote equals the expected content, nothing queued/conflicting, local content kept."""
    lost, extra = compare(expected, remote)
    changed_here, added_here = compare(expected, content(store))
    conflicts = list_conflicts(store, include_resolved=True)
    if not conflicts:  # a conflict keeps the local value and lists the difference
        out.lost += lost
    out.duplicates += duplicates + extra
    out.silent += changed_here + added_here
    if lost or extra or duplicates:
        out.fail(f"remote: {lost} entities missing or different, {extra} extra, "
                 f"{duplicates} duplicates")
    if changed_here or added_here:
        out.fail(f"local content changed by sync: {changed_here} changed, {added_here} added")
    queued = _queued(store)
    if queued:
        out.fail(f"{queued} operations still queued")
    if conflicts:
        out.fail(f"conflicts recorded: {[(c.kind, c.fields) for c in conflicts]}")
    aside = sync_status(store)["set_aside"]
    if aside:
        out.fail(f"set aside: {aside}")


# -- building a queue of operations ---------------------------------------------------------------


class Builder:
    """Registrations and updates on a local store, driven by one seeded ``Random``."""

    def __init__(self, store: SQLiteStore, rng: random.Random, prefix: str = "") -> None:
        self.store, self.rng, self.prefix = store, rng, prefix
        self.models: dict[str, RegisteredModel] = {}
        self.versions: list[ModelVersion] = []
        self.artifacts: list[ModelArtifact] = []
        self.counter = 0

    def _tick(self) -> int:
        self.counter += 1
        return self.counter

    def register(self, *, new_model: bool = True) -> None:
        n = self._tick()
        if new_model or not self.models:
            name = f"{self.prefix}m{len(self.models):04d}"
        else:
            name = self.rng.choice(sorted(self.models))
        rm, mv, art = self.store.register_model(
            name, f"s3://bucket/{name}/{n}", version=f"v{n}", model_format_name="onnx",
            version_description=f"version {n}", metadata={"n": n, "seed": self.rng.random()})
        self.models.setdefault(name, rm)
        self.versions.append(mv)
        self.artifacts.append(art)

    def update(self) -> None:
        """One change that always changes something (so it queues exactly one operation)."""
        n = self._tick()
        kind = self.rng.choice(("model", "version", "version", "artifact"))
        what = self.rng.choice(("description", "property", "state"))
        if kind == "model":
            name = self.rng.choice(sorted(self.models))
            rm = self.models[name]
            if what == "description":
                rm.description = f"model change {n}"
            elif what == "property":
                rm.custom_properties = {**(rm.custom_properties or {}), f"k{n % 3}": n}
            else:
                rm.state = (RegisteredModelState.LIVE if rm.state == RegisteredModelState.ARCHIVED
                            else RegisteredModelState.ARCHIVED)
            self.models[name] = self.store.update(rm)
        elif kind == "version":
            i = self.rng.randrange(len(self.versions))
            mv = self.versions[i]
            if what == "description":
                mv.description = f"version change {n}"
            elif what == "property":
                value = self.rng.choice((n, n / 7, f"s{n}", n % 2 == 0))
                mv.custom_properties = {**(mv.custom_properties or {}), f"p{n % 4}": value}
            else:
                mv.state = (ModelVersionState.LIVE if mv.state == ModelVersionState.ARCHIVED
                            else ModelVersionState.ARCHIVED)
            self.versions[i] = self.store.update(mv)
        else:
            i = self.rng.randrange(len(self.artifacts))
            art = self.artifacts[i]
            if what == "state":
                art.state = (ArtifactState.PENDING if art.state == ArtifactState.LIVE
                             else ArtifactState.LIVE)
            else:
                art.uri = f"s3://bucket/moved/{n}"
            self.artifacts[i] = self.store.update(art)

    def queue(self, ops: int) -> None:
        """Registrations and updates until exactly ``ops`` operations are queued."""
        while (left := ops - _queued(self.store)) > 0:
            roll = self.rng.random()
            if left >= 3 and roll < 0.3:
                self.register()
            elif left >= 2 and roll < 0.4:
                self.register(new_model=False)
            else:
                self.update()


# -- random-moment kills ------------------------------------------------------------------------


def _sync_cmd(stack: Stack, db: str, *, cli: bool, pull: bool = True) -> list[str]:
    if cli:
        return localhub_cmd("--db", db, "sync", "--remote", stack.url, "--json",
                            *([] if pull else ["--push-only"]))
    return [sys.executable, "-c", SYNC_SCRIPT, db, stack.url, "1" if pull else "0"]


def _random_run(  # noqa: C901 - one scripted run, read top-down
        index: int, rng: random.Random, ops: int, max_kills: int, edits: int,
        cli: bool, tally: KillTally, keep: bool) -> Outcome:
    out = Outcome()
    with Stack() as stack:
        store = stack.store("local")
        try:
            builder = Builder(store, rng)
            for _ in range(max(2, ops // 12)):
                builder.register()
            for _ in range(max(1, ops // 24)):
                builder.register(new_model=False)
            first = _engine_sync(store, stack.url, pull=True)
            if _report_problems(first.to_dict()):
                out.fail(f"first sync: {_report_problems(first.to_dict())}")
            builder.queue(ops)
            expected = content(store)
            trail = [_queued(store)]
            for k in range(rng.randint(1, max_kills)):
                proc = subprocess.Popen(_sync_cmd(stack, store.path, cli=cli), env=stack.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if k == 0 or rng.random() < 0.5:
                    # The first kill always lands mid-push: once the queue shrank by a share.
                    share = rng.uniform(0.05, 0.9 if k == 0 else 1.0)
                    target = int(trail[-1] * (1 - share))
                    deadline = time.monotonic() + 60
                    while (proc.poll() is None and _queued(store) > target
                           and time.monotonic() < deadline):
                        time.sleep(POLL)
                else:
                    time.sleep(rng.uniform(0.0, 1.5))
                if _kill(proc):
                    tally.kills += 1
                if edits:
                    changed, added = compare(expected, content(store))
                    if changed or added:
                        out.silent += changed + added
                        out.fail(f"local content changed by a killed sync: {changed}, {added}")
                    for _ in range(edits):
                        builder.update()
                    expected = content(store)
                trail.append(_queued(store))
                if trail[-1] == 0 and proc.returncode == 0 and not edits:
                    break  # it finished before the kill: nothing left to interrupt
            final = subprocess.run(_sync_cmd(stack, store.path, cli=cli), env=stack.env,
                                   capture_output=True, text=True, timeout=300, check=False)
            try:
                report = json.loads(final.stdout)
            except ValueError:
                report = {"stopped": f"no report: {final.stdout[-300:]} {final.stderr[-500:]}"}
            if final.returncode != 0 or _report_problems(report):
                out.fail(f"final sync exit {final.returncode}: {_report_problems(report)}")
            _check_final(out, store, expected, stack.remote_content(), stack.remote_duplicates())
            if not out.converged:
                out.problems.append(f"queue after each kill: {trail}; cli={cli}")
        finally:
            store.close()
            if not out.converged and keep:
                stack.keep = True
                out.problems.append(f"kept {stack.dir}")
    return out


# -- kills at each step -------------------------------------------------------------------------

POST_PATHS = ("registered_models", "model_versions", "artifacts")


def step_plan(which: str) -> list[tuple[str, int, str]]:
    """(method, nth, phase) of the step cases: every POST of a registration, every PATCH of an
    update of model, version and artifact; ``quick`` skips the late and edit phases and
    PATCHes 2-3."""
    if which == "none":
        return []
    phases = (("before", "after") if which == "quick"
              else ("before", "after", "late", "edit"))
    cases = [("POST", k, p) for k in (1, 2, 3) for p in phases]
    patches = (1,) if which == "quick" else (1, 2, 3)
    cases += [("PATCH", k, p) for k in patches for p in phases]
    return cases


def _wait_hold(stack: Stack, proc: subprocess.Popen[bytes], phase: str,
               timeout: float = 60) -> list[Any] | None:
    """The proxy log entry of the held request, once it shows (None if the process ended)."""
    want = "holding-before" if phase in ("before", "late") else "holding-after"
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        for entry in stack.proxy_log():
            if entry[2] == want:
                return entry
        time.sleep(0.01)
    return None


def _wait_late(stack: Stack, method: str, path: str, timeout: float) -> list[Any]:
    """Statuses of the requests to ``method path`` once the late one has landed too."""
    deadline = time.monotonic() + timeout
    statuses: list[Any] = []
    while time.monotonic() < deadline:
        statuses = [e[2] for e in stack.proxy_log()
                    if e[0] == method and e[1] == path and isinstance(e[2], int)]
        if len(statuses) >= 2:
            break
        time.sleep(0.05)
    return statuses


def _step_case(stack: Stack, n: int, method: str, nth: int, phase: str,
               tally: KillTally) -> Outcome:
    out = Outcome()
    result = StepResult(method, nth, phase)
    tally.steps.append(result)
    prefix = f"step{n:02d}-"
    store = stack.store(f"step{n:02d}")
    try:
        rm, mv, art = store.register_model(
            prefix + "m", f"s3://bucket/{prefix}", version="v1", model_format_name="onnx",
            metadata={"k": 1})
        if method == "PATCH":
            report = _engine_sync(store, stack.url, pull=False)
            if _report_problems(report.to_dict()) or report.created != 3:
                out.fail(f"sync before the update: {report.to_dict()}")
            # A first update also proves (once per remote) whether it honours If-Match, with a
            # PATCH of its own: done here, so that the k-th PATCH held below is the k-th entity.
            rm.description = "first update"
            store.update(rm)
            report = _engine_sync(store, stack.url, pull=False)
            if _report_problems(report.to_dict()) or report.updated != 1:
                out.fail(f"first update: {report.to_dict()}")
            rm.description = "changed"
            store.update(rm)
            mv.custom_properties = {"k": 2, "added": "yes"}
            store.update(mv)
            art.uri = f"s3://bucket/{prefix}moved"
            store.update(art)
        expected = content(store)
        dups_before = stack.remote_duplicates()
        stack.proxy_reset()
        stack.proxy_rules({"match": method, "nth": nth, "action": "hold",
                           "phase": "before" if phase in ("before", "late") else "after",
                           "seconds": LATE_HOLD if phase == "late" else LONG_HOLD})
        with open(stack.dir / f"{prefix}sync.log", "wb") as log:
            proc = subprocess.Popen(_sync_cmd(stack, store.path, cli=True, pull=False),
                                    env=stack.env, stdout=log, stderr=subprocess.STDOUT)
        entry = _wait_hold(stack, proc, phase)
        if entry is not None:
            result.held, result.path = True, str(entry[1])
            # One entity per step: before the k-th request, k-1 of the 3 have reached it.
            result.expected_at_kill = 3 - nth + (1 if phase in ("before", "late") else 0)
            result.lost_at_kill = compare(expected, _subset(stack.remote_content(), prefix))[0]
        if _kill(proc):
            tally.kills += 1
        if entry is None:
            log_text = (stack.dir / f"{prefix}sync.log").read_text(errors="replace")
            out.fail(f"never held (exit {proc.returncode}): {log_text[-500:]}")
        elif result.lost_at_kill != result.expected_at_kill:
            out.fail(f"remote at the kill: {result.lost_at_kill} entities missing, "
                     f"{result.expected_at_kill} expected")
        if phase == "edit":
            # The user goes on working before the next sync, on the entities in flight too.
            # The same fields the killed push was sending.
            edits = (("description", "edited after the kill"),
                     ("custom_properties", {"k": 3, "added": "edited"}),
                     ("uri", f"s3://bucket/{prefix}edited"))
            for entity, (name, value) in zip((rm, mv, art), edits, strict=False):
                fresh = store.get(type(entity), entity.id or "")
                assert fresh is not None
                setattr(fresh, name, value)
                store.update(fresh)
            expected = content(store)
        report = _engine_sync(store, stack.url, pull=False)
        result.adopted, result.created = report.adopted, report.created
        result.updated = report.updated
        if _report_problems(report.to_dict()):
            out.fail(f"rerun: {_report_problems(report.to_dict())}")
        if phase == "late" and entry is not None:
            result.late_statuses = _wait_late(stack, method, result.path, LATE_HOLD + 15)
            if len(result.late_statuses) < 2:
                out.fail(f"the late request never landed: {result.late_statuses}")
        dups = max(0, stack.remote_duplicates() - dups_before)
        _check_final(out, store, expected, _subset(stack.remote_content(), prefix), dups)
    finally:
        store.close()
    if not out.converged:
        out.problems.insert(0, f"step {method} #{nth} {phase} ({result.path})")
    return out


# -- kills of a local registration loop ---------------------------------------------------------


def _versions(db: Path) -> int:
    """Versions in ``db`` (-1 while it cannot be read, e.g. not created yet)."""
    if not db.exists():
        return -1
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute(
                "SELECT count(*) FROM contexts WHERE kind = 'model-version'").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


def _check_registrations(store: SQLiteStore, prefix: str, out: Outcome) -> int:
    """Whole registrations, queued all or none; returns how many there are."""
    with store.db.read() as conn:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            out.fail("integrity_check failed")
            out.lost += 1
        uids = [r[0] for r in conn.execute(
            "SELECT uid FROM contexts WHERE kind IN ('registered-model', 'model-version') "
            "UNION ALL SELECT uid FROM artifacts")]
        queued = Counter((r[0], r[1]) for r in conn.execute(
            "SELECT entity_uid, op FROM outbox"))
    versions = store.list_page(ModelVersion).items
    n = len(versions)
    torn = 0
    seen: set[tuple[str, str]] = set()
    models = {m.id: m.name for m in store.list_page(RegisteredModel).items}
    for mv in versions:
        model = models.get(mv.registered_model_id, "?")
        seen.add((model, mv.name))
        arts = store.version_artifacts(mv.id or "")
        j = int((mv.description or "registration -1").split()[-1])
        if len(arts) != 1 or getattr(arts[0], "uri", None) != f"s3://bucket/{prefix}{j}":
            torn += 1
    want = {(f"{prefix}m{j // 2:04d}", f"v{j % 2}") for j in range(n)}
    torn += len(want ^ seen) + sum(1 for name in models.values() if
                                   not any(m == name for m, _ in seen))
    mismatched = sum((Counter({(uid, "create"): 1 for uid in uids}) - queued).values())
    mismatched += sum((queued - Counter({(uid, "create"): 1 for uid in uids})).values())
    if torn or mismatched:
        out.fail(f"{torn} torn registrations, {mismatched} outbox rows off")
        out.lost += torn + mismatched
    return n


def _local_case(stack: Stack, n: int, rng: random.Random, kills: int,
                tally: KillTally) -> Outcome:
    out = Outcome()
    prefix = f"local{n:02d}-"
    db = stack.dir / f"local{n:02d}.db"
    for k in range(kills):
        start = max(0, _versions(db))
        proc = subprocess.Popen([sys.executable, "-c", REGISTER_SCRIPT, str(db), prefix,
                                 str(start)], stderr=subprocess.DEVNULL)
        if k == 0:
            # Any moment from the start on: imports, creating the database, registrations.
            time.sleep(rng.uniform(0.0, 0.7))
        else:
            deadline = time.monotonic() + 30
            while proc.poll() is None and _versions(db) <= start and time.monotonic() < deadline:
                time.sleep(POLL)
            time.sleep(rng.uniform(0.0, 0.1))
        if _kill(proc):
            tally.local_kills += 1
        else:
            out.fail(f"register loop exited by itself: {proc.returncode}")
    store = SQLiteStore(db)
    try:
        tally.registrations += _check_registrations(store, prefix, out)
        expected = content(store)
        report = _engine_sync(store, stack.url, pull=False)
        if _report_problems(report.to_dict()):
            out.fail(f"sync: {_report_problems(report.to_dict())}")
        _check_final(out, store, expected, _subset(stack.remote_content(), prefix), 0)
    finally:
        store.close()
    if not out.converged:
        out.problems.insert(0, f"local register loop {n}")
    return out


# -- the soak -----------------------------------------------------------------------------------


def _count(tally: KillTally, out: Outcome, label: str) -> None:
    tally.runs += 1
    tally.converged += out.converged
    tally.lost += out.lost
    tally.duplicates += out.duplicates
    tally.silent_overwrites += out.silent
    if not out.converged:
        tally.notes.append(f"{label}: " + "; ".join(out.problems))


def run(*, runs: int = 50, ops: int = 300, max_kills: int = 3, edits: int = 0,
        steps: str = "all", local_runs: int = 3, local_kills: int = 8, seed: int = 1,
        keep: bool = False, verbose: bool = False) -> KillTally:
    """The kill soak: ``runs`` random-moment runs of ``ops`` operations (with ``edits`` local
    updates after each kill), the step cases (``all``/``quick``/``none``), and ``local_runs``
    runs of ``local_kills`` kills each."""
    tally = KillTally("kill")
    for i in range(runs):
        rng = random.Random(f"{seed}:random:{i}")
        cli = i % 2 == 0
        out = _random_run(i, rng, ops, max_kills, edits, cli, tally, keep)
        tally.random_runs += 1
        tally.cli_runs += cli
        _count(tally, out, f"random run {i}")
        if verbose:
            print(f"random run {i}: {'ok' if out.converged else out.problems}", file=sys.stderr)
    plan = step_plan(steps)
    if plan or local_runs:
        with Stack(proxy=True) as stack:
            for n, (method, nth, phase) in enumerate(plan):
                out = _step_case(stack, n, method, nth, phase, tally)
                _count(tally, out, f"step {method} #{nth} {phase}")
            for n in range(local_runs):
                rng = random.Random(f"{seed}:local:{n}")
                _count(tally, _local_case(stack, n, rng, local_kills, tally), f"local {n}")
            if not tally.ok and keep:
                stack.keep = True
                tally.notes.append(f"kept {stack.dir}")
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (as in CI)")
    parser.add_argument("--runs", type=int, default=None, help="random-moment runs (50)")
    parser.add_argument("--ops", type=int, default=None, help="queued operations per run (300)")
    parser.add_argument("--max-kills", type=int, default=3, help="kills per random run, at most")
    parser.add_argument("--edits", type=int, default=0,
                        help="local updates after each kill of a random run (default 0)")
    parser.add_argument("--steps", choices=("all", "quick", "none"), default=None)
    parser.add_argument("--local-runs", type=int, default=None)
    parser.add_argument("--local-kills", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep folders of failing runs")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    quick = args.quick

    def pick(value: int | str | None, full: Any, short: Any) -> Any:
        return value if value is not None else (short if quick else full)

    tally = run(runs=pick(args.runs, 50, 3), ops=pick(args.ops, 300, 45),
                max_kills=args.max_kills, edits=args.edits,
                steps=pick(args.steps, "all", "quick"), local_runs=pick(args.local_runs, 3, 1),
                local_kills=pick(args.local_kills, 8, 3),
                seed=args.seed, keep=args.keep, verbose=args.verbose)
    if args.verbose:
        steps = [(s.method, s.nth, s.phase, s.path, s.adopted, s.late_statuses)
                 for s in tally.steps]
        print(f"kills={tally.kills} local_kills={tally.local_kills} "
              f"registrations={tally.registrations} steps={steps}", file=sys.stderr)
    sys.exit(finish(tally))


if __name__ == "__main__":
    main()
