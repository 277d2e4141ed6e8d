"""Concurrent writers soak: several processes write one database while ``sync --every`` runs.

Each run starts a real remote (``localhub serve``), configures it with ``localhub remote add``
and starts ``localhub sync --every 1s --watch --json`` on one local database file. Then
``--writers`` plain Python processes (even indexes through the public ``ModelRegistryClient``,
odd ones through ``SQLiteStore``) write that same file for ``--seconds``: they register versions
under a small shared pool of models and edit descriptions, custom properties, states and
artifact URIs of their own and each other's entities, logging every acknowledged write (with
the monotonic time before the call and after it returned) and every exception to a JSON-lines
file. When they are done, the loop is given time to catch up (local outbox empty, remote equal
to local and stable), stopped with SIGTERM, and the outcome checked.

Run it from the repository root::

    python -m tests.soak.soak_writers            # 3 runs of 60 s of writing
    python -m tests.soak.soak_writers --quick    # 1 run of 15 s
    python -m tests.soak.soak_writers --runs 5 --seconds 120 --writers 6 --seed 7

Figures of the result line:

- ``runs``: runs made.
- ``converged``: runs where everything held: the remote's content equals the local content
  (every model, version and artifact, field by field), no writer logged an exception or exited
  non-zero, the loop exited 0 on SIGTERM with no traceback on stderr and no run logged with an
  error or a non-zero exit code, the outbox drained, no open conflict and nothing set aside.
- ``duplicates``: rows sharing a natural key, in the remote and the local file.
- ``lost``: acknowledged registrations (version or its artifact) missing locally, plus local
  entities missing on the remote or different there, plus remote entities with no local
  counterpart.
- ``silent_overwrites``: fields seen (by a writer's read, or in the final local content) with
  a value that an acknowledged write had already replaced: some write W of the field returned
  before another write W' started, W' returned before the read began, and the value seen is
  W's (or nobody's). Something undid W' without being asked: a library read-modify-write
  outside one transaction, or the sync loop writing a stale value back. Overwrites between
  writers are expected and not counted: any write that may have committed last is accepted.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Any, cast

from localhub import ModelRegistryClient, SQLiteStore
from localhub.types import (
    ArtifactState,
    ModelArtifact,
    ModelVersion,
    ModelVersionState,
    RegisteredModel,
    RegisteredModelState,
    SupportedTypes,
)

from tests.soak._soak import Stack, Tally, compare, content, duplicates_in, finish, localhub_cmd

NAME = "writers"
ROOT = Path(__file__).resolve().parents[2]  # the checkout: ``-m tests.soak...`` from there

#: The content fields of each kind, in the order of ``_soak.content``'s tuples.
FIELDS: dict[str, tuple[str, ...]] = {
    "model": ("description", "owner", "state", "custom_properties"),
    "version": ("description", "author", "state", "custom_properties"),
    "artifact": ("uri", "model_format_name", "storage_key", "state"),
}

Key = tuple[str, ...]


def _norm(field: str, value: Any) -> Any:
    """A field value in one comparable, JSON-able form."""
    if field == "custom_properties":
        return json.dumps(dict(value or {}), sort_keys=True, default=str)
    if isinstance(value, Enum):
        return value.value
    return value


# -- the writer process -----------------------------------------------------------------------


class Writer:
    """One writer process: random registrations and edits, each logged once acknowledged."""

    def __init__(self, db: str, url: str, index: int, seed: int, pause: float, models: int,
                 log: Path) -> None:
        self.index = index
        self.me = f"w{index}"
        self.rng = random.Random(seed * 1000 + index)
        self.pause = pause
        self.pool = [f"soak-m{k}" for k in range(models)]
        self.api = "client" if index % 2 == 0 else "store"
        self.client = ModelRegistryClient(url, path=db, author=self.me)
        self.store = self.client.store if self.api == "client" else SQLiteStore(db)
        self.out = open(log, "a", encoding="utf-8")  # noqa: SIM115 (closed in run)
        self.n = 0
        self.mine: list[tuple[str, str]] = []

    def log(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record, sort_keys=True) + "\n")
        self.out.flush()

    def write(self, op: str, key: Key, sent: dict[str, Any], call: Callable[[], object],
              **extra: Any) -> None:
        """Run one write and log it with its time window once it returned."""
        # CLOCK_MONOTONIC is system-wide on Linux: windows compare across the processes.
        t0 = time.monotonic_ns()
        call()
        t1 = time.monotonic_ns()
        self.log({"op": op, "key": list(key), "sent": sent, "t0": t0, "t1": t1,
                  "writer": self.me, "api": self.api, **extra})

    def sent(self, kind: str, entity: Any) -> dict[str, Any]:
        """The content fields this write hands the library. The client (as the official one)
        leaves None fields and an empty property map alone; the store writes every field."""
        values = {f: getattr(entity, f) for f in FIELDS[kind]}
        if self.api == "client":
            values = {f: v for f, v in values.items() if v is not None}
            if not values.get("custom_properties"):
                values.pop("custom_properties", None)
        return {f: _norm(f, v) for f, v in values.items()}

    # -- reads ------------------------------------------------------------------------------

    def fetch(self, kind: str, key: Key, call: Callable[[], Any]) -> Any:
        """Run one read and log the content fields it saw with its time window."""
        t0 = time.monotonic_ns()
        entity = call()
        t1 = time.monotonic_ns()
        if entity is not None:
            self.log({"op": "read", "key": list(key), "t0": t0, "t1": t1, "writer": self.me,
                      "api": self.api, "seen": {f: _norm(f, getattr(entity, f))
                                                for f in FIELDS[kind]}})
        return entity

    def model(self, name: str) -> RegisteredModel | None:
        if self.api == "client":
            return cast("RegisteredModel | None", self.fetch("model", (name,), lambda: next(
                (m for m in self.client.list_models() if m.name == name), None)))
        return cast("RegisteredModel | None", self.fetch(
            "model", (name,), lambda: self.store.find(RegisteredModel, name=name)))

    def some_version(self) -> tuple[str, ModelVersion] | None:
        """A version to edit: half the time one of ours, else any version of a random model."""
        if self.mine and self.rng.random() < 0.5:
            name, version = self.rng.choice(self.mine)
        else:
            name = self.rng.choice(self.pool)
            rm = self.model(name)
            if rm is None or rm.id is None:
                return None
            if self.api == "client":
                names = [v.name for v in self.client.list_model_versions(name)]
            else:
                names = [v.name for v in self.store.list_page(ModelVersion, parent_id=rm.id).items
                         if isinstance(v, ModelVersion)]
            if not names:
                return None
            version = str(self.rng.choice(names))
        if self.api == "client":
            found = self.fetch("version", (name, version),
                               lambda: self.client.get_model_version(name, version))
        else:
            found = self.fetch("version", (name, version),
                               lambda: self.store.find_version(name, version)[1])
        assert found is not None, f"{name}:{version} vanished"
        return name, cast(ModelVersion, found)

    # -- writes -----------------------------------------------------------------------------

    def register(self) -> None:
        name = self.rng.choice(self.pool)
        version = f"{self.me}-{self.n}"
        uri = f"s3://soak/{name}/{version}"
        meta: dict[str, SupportedTypes] = {"writer": self.me, "n": self.n}
        desc = f"v-{self.me}-{self.n}"
        sent = {"version": {"description": desc, "author": self.me, "state": "LIVE",
                            "custom_properties": _norm("custom_properties", meta)},
                "artifact": {"uri": uri, "model_format_name": "onnx"}}
        call: Callable[[], object]
        if self.api == "client":
            def call() -> object:
                return self.client.register_model(
                    name, uri, version=version, model_format_name="onnx", author=self.me,
                    owner=self.me, version_description=desc, metadata=meta)
        else:
            def call() -> object:
                return self.store.register_model(
                    name, uri, version=version, model_format_name="onnx", author=self.me,
                    owner=self.me, version_description=desc, metadata=meta)
        self.write("register", (name, version), sent["version"], call,
                   artifact=sent["artifact"])
        self.mine.append((name, version))

    def edit_model(self, what: str) -> None:
        name = self.rng.choice(self.pool)
        rm = self.model(name)
        if rm is None:
            return self.register()
        tag = f"{self.me}-{self.n}"
        if what == "state":
            live = rm.state == RegisteredModelState.LIVE
            new = RegisteredModelState.ARCHIVED if live else RegisteredModelState.LIVE
            if self.api == "client":
                act = self.client.archive_model if live else self.client.restore_model
                return self.write("model-state", (name,), {"state": new.value},
                                  lambda: act(name))
            rm = replace(rm, state=new)
        elif what == "description":
            rm = replace(rm, description=f"d-{tag}")
        else:
            rm = replace(rm, custom_properties={**(rm.custom_properties or {}), self.me: self.n,
                                                "shared": tag})
        update = self.client.update_model if self.api == "client" else self.store.update
        self.write(f"model-{what}", (name,), self.sent("model", rm), lambda: update(rm))

    def edit_version(self, what: str) -> None:
        found = self.some_version()
        if found is None:
            return self.register()
        name, mv = found
        assert mv.name is not None
        tag = f"{self.me}-{self.n}"
        key = (name, mv.name)
        extra = {"cross": not mv.name.startswith(f"{self.me}-")}
        if what == "state":
            live = mv.state == ModelVersionState.LIVE
            new = ModelVersionState.ARCHIVED if live else ModelVersionState.LIVE
            if self.api == "client":
                act = (self.client.archive_model_version if live
                       else self.client.restore_model_version)
                return self.write("version-state", key, {"state": new.value},
                                  lambda: act(name, str(mv.name)), **extra)
            mv = replace(mv, state=new)
        elif what == "description":
            mv = replace(mv, description=f"d-{tag}")
        else:
            mv = replace(mv, custom_properties={**(mv.custom_properties or {}), self.me: self.n,
                                                "shared": tag})
        update = self.client.update_model_version if self.api == "client" else self.store.update
        self.write(f"version-{what}", key, self.sent("version", mv), lambda: update(mv),
                   **extra)

    def edit_artifact(self) -> None:
        found = self.some_version()
        if found is None:
            return self.register()
        name, mv = found
        assert mv.name is not None and mv.id is not None
        version = mv.name
        found_art = self.fetch("artifact", (name, version, name), (
            (lambda: self.client.get_model_artifact(name, version)) if self.api == "client"
            else (lambda: self.store.find(ModelArtifact, name=name, parent_id=mv.id))))
        assert found_art is not None
        art = cast(ModelArtifact, found_art)
        art = replace(art, uri=f"s3://soak/{name}/{mv.name}/{self.me}-{self.n}",
                      state=self.rng.choice([ArtifactState.LIVE, ArtifactState.UNKNOWN]))
        update = self.client.update_model_artifact if self.api == "client" else self.store.update
        self.write("artifact-edit", (name, mv.name, name), self.sent("artifact", art),
                   lambda: update(art), cross=not mv.name.startswith(f"{self.me}-"))

    def step(self) -> None:
        op = self.rng.choices(
            ["register", "m-desc", "m-props", "m-state", "v-desc", "v-props", "v-state", "art"],
            weights=[20, 10, 10, 10, 10, 15, 10, 15])[0]
        self.n += 1
        if op == "register":
            self.register()
        elif op == "art":
            self.edit_artifact()
        elif op.startswith("m-"):
            self.edit_model({"desc": "description", "props": "props", "state": "state"}[op[2:]])
        else:
            self.edit_version({"desc": "description", "props": "props", "state": "state"}[op[2:]])

    def run(self, seconds: float) -> int:
        deadline = time.monotonic() + seconds
        errors = 0
        try:
            while time.monotonic() < deadline:
                try:
                    self.step()
                except Exception as exc:  # noqa: BLE001 - every exception is a finding
                    errors += 1
                    self.log({"op": "error", "writer": self.me, "api": self.api,
                              "error": f"{type(exc).__name__}: {exc}",
                              "traceback": traceback.format_exc()})
                time.sleep(self.rng.uniform(0, 2 * self.pause))
        finally:
            self.out.close()
        return 1 if errors else 0


def writer_main(argv: list[str]) -> int:
    """Entry point of one writer process (``soak_writers.py writer ...``)."""
    parser = argparse.ArgumentParser(prog="soak_writers.py writer")
    parser.add_argument("--db", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--pause", type=float, default=0.02)
    parser.add_argument("--models", type=int, default=2)
    parser.add_argument("--log", required=True)
    args = parser.parse_args(argv)
    writer = Writer(args.db, args.url, args.index, args.seed, args.pause, args.models,
                    Path(args.log))
    return writer.run(args.seconds)


# -- checking ---------------------------------------------------------------------------------


def _read_logs(paths: list[Path]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in paths:
        if path.exists():
            records.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return records


def _writes(records: list[dict[str, Any]]) -> dict[tuple[Key, str], list[tuple[Any, int, int]]]:
    """Per (entity key, field): every acknowledged write of it as (value, t0, t1)."""
    out: dict[tuple[Key, str], list[tuple[Any, int, int]]] = {}
    for rec in records:
        if rec["op"] in ("error", "read"):
            continue
        key = tuple(rec["key"])
        items = [(key, rec["sent"])]
        if rec["op"] == "register":
            items.append(((*key, key[0]), rec["artifact"]))
        for entity, sent in items:
            for field, value in sent.items():
                out.setdefault((entity, field), []).append((value, rec["t0"], rec["t1"]))
    return out


class History:
    """The acknowledged writes of one field: which values may a read in a window see?

    A write w (called at t0, returned at t1) committed within [t0, t1]. A read in [r0, r1]
    may see w's value unless w started after the read ended, or another write w' certainly
    committed after w and before the read (w' started after w returned, and returned before
    the read began). Only acknowledged writes are known, so when none returned before the
    read began any value is accepted (the entity's initial value is not logged).
    """

    def __init__(self, writes: list[tuple[Any, int, int]]) -> None:
        ordered = sorted(writes, key=lambda w: w[2])
        self.ends = [t1 for _, _, t1 in ordered]
        self.latest_start = list(itertools.accumulate((t0 for _, t0, _ in ordered), max))
        self.by_value: dict[str, list[tuple[int, int]]] = {}
        for value, t0, t1 in ordered:
            self.by_value.setdefault(json.dumps(value), []).append((t0, t1))

    def possible(self, value: Any, r0: int, r1: int) -> bool:
        done = bisect.bisect_left(self.ends, r0)  # writes that returned before the read
        if done == 0:
            return True
        floor = self.latest_start[done - 1]
        return any(t0 < r1 and t1 >= floor for t0, t1 in self.by_value.get(json.dumps(value), ()))

    def values(self, r0: int, r1: int) -> list[Any]:
        return [json.loads(v) for v in self.by_value if self.possible(json.loads(v), r0, r1)]


_END = 2**63


def _final_values(tree: dict[str, Any]) -> dict[tuple[Key, str], Any]:
    """Per (entity key, field): the normalised value of a ``content`` tree."""
    out: dict[tuple[Key, str], Any] = {}
    for model, (*mfields, versions) in tree.items():
        for field, value in zip(FIELDS["model"], mfields, strict=True):
            out[((model,), field)] = _norm(field, value)
        for version, (*vfields, arts) in versions.items():
            for field, value in zip(FIELDS["version"], vfields, strict=True):
                out[((model, version), field)] = _norm(field, value)
            for art, afields in arts.items():
                for field, value in zip(FIELDS["artifact"], afields, strict=True):
                    out[((model, version, art), field)] = _norm(field, value)
    return out


def silent_overwrites(records: list[dict[str, Any]], tree: dict[str, Any]
                      ) -> list[tuple[Key, str, Any, str, list[Any]]]:
    """Fields seen with a value that an acknowledged later write had already replaced.

    Every read a writer logged, and the final local content (a read after everything), is
    checked against the field's ``History``. Returns, per failing field, its first bad
    observation: (key, field, value seen, who saw it, values it could have seen).
    """
    histories = {kf: History(ws) for kf, ws in _writes(records).items()}
    seen: list[tuple[Key, str, Any, int, int, str]] = [
        (tuple(r["key"]), f, v, r["t0"], r["t1"], f"read by {r['writer']} ({r['api']})")
        for r in records if r["op"] == "read" for f, v in r["seen"].items()]
    seen += [(k, f, v, _END, _END, "final") for (k, f), v in _final_values(tree).items()]
    bad: dict[tuple[Key, str], tuple[Key, str, Any, str, list[Any]]] = {}
    for key, field, value, r0, r1, who in sorted(seen, key=lambda s: s[3]):
        history = histories.get((key, field))
        if history is None or (key, field) in bad or history.possible(value, r0, r1):
            continue
        bad[(key, field)] = (key, field, value, who, history.values(r0, r1))
    return list(bad.values())


def missing_registrations(records: list[dict[str, Any]], tree: dict[str, Any]) -> list[Key]:
    """Acknowledged registrations whose version or artifact is not in ``tree``."""
    missing: list[Key] = []
    for rec in records:
        if rec["op"] == "register":
            model, version = rec["key"]
            versions = tree.get(model, (None, None, None, None, {}))[4]
            if version not in versions or model not in versions[version][4]:
                missing.append((model, version))
    return missing


# -- one run ----------------------------------------------------------------------------------


def _local_content(db: Path) -> dict[str, Any]:
    store = SQLiteStore(db)
    try:
        return content(store)
    finally:
        store.close()


def _pending(db: Path) -> int:
    store = SQLiteStore(db)
    try:
        return len(store.pending())
    finally:
        store.close()


def _sync_state(db: Path) -> tuple[int, int]:
    """(open conflicts, set-aside items) of the local database."""
    from localhub.sync import list_conflicts, sync_status

    store = SQLiteStore(db)
    try:
        return len(list_conflicts(store)), len(sync_status(store)["set_aside"])
    finally:
        store.close()


def _loop_runs(out: Path) -> list[dict[str, Any]]:
    runs = []
    for line in out.read_text().splitlines():
        try:
            runs.append(json.loads(line))
        except ValueError:
            runs.append({"error": f"not JSON: {line}", "exit_code": None})
    return runs


def _wait(check: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def _exit_code(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The process's exit code, or None when it did not end in time."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def run_once(  # noqa: C901 - one scripted run, read top-down
        tally: Tally, *, run: int, seconds: float, writers: int, models: int,
        pause: float, seed: int, every: str, catch_up: float, keep: bool,
        stats: dict[str, int]) -> None:
    """One run: loop + writers + checks; adds its figures to ``tally``."""
    notes: list[str] = []
    with Stack(keep=keep) as stack:
        db = stack.dir / "local.db"
        subprocess.run(localhub_cmd("remote", "add", "soak", stack.url), env=stack.env,
                       check=True, capture_output=True)
        loop_out, loop_err = stack.dir / "loop.out", stack.dir / "loop.err"
        with open(loop_out, "wb") as out, open(loop_err, "wb") as err:
            loop = subprocess.Popen(
                localhub_cmd("--db", str(db), "sync", "--every", every, "--watch", "--json"),
                stdout=out, stderr=err, env=stack.env)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            if not _wait(lambda: bool(loop_out.read_text().strip()), 60):
                raise RuntimeError(f"the sync loop never ran: {loop_err.read_text()}")
            runs_before = len(_loop_runs(loop_out))
            logs = [stack.dir / f"writer{i}.jsonl" for i in range(writers)]
            werrs = [stack.dir / f"writer{i}.err" for i in range(writers)]
            for i in range(writers):
                with open(werrs[i], "wb") as err:
                    procs.append(subprocess.Popen(
                        [sys.executable, "-m", "tests.soak.soak_writers", "writer", "--db", str(db),
                         "--url", stack.url, "--index", str(i), "--seed", str(seed + run),
                         "--seconds", str(seconds), "--pause", str(pause),
                         "--models", str(models), "--log", str(logs[i])],
                        stdout=subprocess.DEVNULL, stderr=err, env=stack.env, cwd=ROOT))
            codes = [_exit_code(p, seconds + 120) for p in procs]
            writing_done = time.monotonic()
            runs_while_writing = len(_loop_runs(loop_out)) - runs_before

            # Catch-up: the outbox empty and the remote equal to local, twice in a row.
            last: list[Any] = [None]

            def caught_up() -> bool:
                if _pending(db):
                    return False
                now = (_local_content(db), stack.remote_content())
                done = now[0] == now[1] and last[0] == now
                last[0] = now
                return done

            if not _wait(caught_up, catch_up, every=1.0):
                notes.append(f"run {run}: no catch-up within {catch_up:.0f}s "
                             f"({_pending(db)} changes queued)")
            stats["catch_up_ms"] = max(stats.get("catch_up_ms", 0),
                                       int((time.monotonic() - writing_done) * 1000))
            loop.send_signal(signal.SIGTERM)
            loop_rc = _exit_code(loop, 60)
        finally:
            for p in [*procs, loop]:
                if p.poll() is None:
                    p.kill()
                    p.wait(10)

        records = _read_logs(logs)
        local, remote = _local_content(db), stack.remote_content()
        errors = [r for r in records if r["op"] == "error"]
        for r in errors[:5]:
            notes.append(f"run {run}: {r['writer']} ({r['api']}): {r['error']}")
        for i, code in enumerate(codes):
            if code != 0:
                notes.append(f"run {run}: writer {i} exited {code}: "
                             f"{werrs[i].read_text()[-500:]}")
        missing = missing_registrations(records, local)
        lost, extra = compare(local, remote)
        for item in missing[:5]:
            notes.append(f"run {run}: registration {item} acknowledged but missing locally")
        if lost or extra:
            notes.append(f"run {run}: remote differs from local: {lost} lost/different, "
                         f"{extra} extra")
        overwrites = silent_overwrites(records, local)
        for key, field, value, who, ok in overwrites[:5]:
            notes.append(f"run {run}: {'/'.join(key)} {field} = {value!r} ({who}); "
                         f"acknowledged writes allow only {ok!r}")
        dups = stack.remote_duplicates() + duplicates_in(db)
        conflicts, set_aside = _sync_state(db)
        queued = _pending(db)
        runs = _loop_runs(loop_out)
        bad_runs = [r for r in runs if r.get("exit_code") != 0 or r.get("error")]
        for r in bad_runs[:3]:
            notes.append(f"run {run}: loop run {r.get('run')} exit {r.get('exit_code')}: "
                         f"{r.get('error')}")
        stderr = loop_err.read_text()
        if "Traceback" in stderr:
            notes.append(f"run {run}: traceback from the sync loop: {stderr[-800:]}")
        if loop_rc != 0:
            notes.append(f"run {run}: the sync loop exited {loop_rc} on SIGTERM")
        for what, n in (("open conflicts", conflicts), ("set aside", set_aside),
                        ("still queued", queued)):
            if n:
                notes.append(f"run {run}: {n} {what}")

        ops = [r for r in records if r["op"] not in ("error", "read")]
        for figure, n in (
            ("writes", len(ops)),
            ("reads", sum(r["op"] == "read" for r in records)),
            ("registrations", sum(r["op"] == "register" for r in ops)),
            ("edits", sum(r["op"] != "register" for r in ops)),
            ("cross_edits", sum(bool(r.get("cross")) for r in ops)),
            ("client_writes", sum(r["api"] == "client" for r in ops)),
            ("store_writes", sum(r["api"] == "store" for r in ops)),
            ("writer_errors", len(errors)),
            ("loop_runs", len(runs)),
            ("loop_runs_while_writing", runs_while_writing),
            ("loop_runs_pushing", sum(
                1 for r in runs if r.get("report") and any(
                    r["report"].get(k) for k in ("created", "updated", "adopted")))),
            ("loop_watch_runs", sum(r.get("run") == "watch" for r in runs)),
            ("remote_versions", sum(len(v[4]) for v in remote.values())),
        ):
            stats[figure] = stats.get(figure, 0) + n

        tally.runs += 1
        tally.duplicates += dups
        tally.lost += len(missing) + lost + extra
        tally.silent_overwrites += len(overwrites)
        clean = (not errors and codes == [0] * writers and not missing and not lost and not extra
                 and not overwrites and not dups and not bad_runs and "Traceback" not in stderr
                 and loop_rc == 0 and not conflicts and not set_aside and not queued)
        tally.converged += int(clean)
        tally.notes.extend(notes)
        if keep:
            tally.notes.append(f"run {run}: kept {stack.dir}")


def run(*, runs: int = 3, seconds: float = 60.0, writers: int = 4, models: int = 2,
        pause: float = 0.02, seed: int = 0, every: str = "1s", catch_up: float = 120.0,
        keep: bool = False, stats: dict[str, int] | None = None) -> Tally:
    """``runs`` runs of ``writers`` processes writing for ``seconds`` each; ``stats`` (when
    given) receives counts of what was exercised (writes, cross-writer edits, loop runs...)."""
    tally = Tally(NAME)
    stats = {} if stats is None else stats
    for i in range(runs):
        run_once(tally, run=i, seconds=seconds, writers=writers, models=models, pause=pause,
                 seed=seed + 100 * i, every=every, catch_up=catch_up, keep=keep, stats=stats)
    return tally


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "writer":
        sys.exit(writer_main(sys.argv[2:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of 15 s of writing")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0, help="writing time per run")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--models", type=int, default=2, help="size of the shared model pool")
    parser.add_argument("--pause", type=float, default=0.02,
                        help="mean pause between a writer's operations, seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", default="1s", help="the sync loop's --every")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder")
    parser.add_argument("--stats", action="store_true", help="print what was exercised")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 15.0
    stats: dict[str, int] = {}
    start = time.monotonic()
    tally = run(runs=args.runs, seconds=args.seconds, writers=args.writers, models=args.models,
                pause=args.pause, seed=args.seed, every=args.every, keep=args.keep,
                stats=stats)
    if args.stats:
        print(f"  {json.dumps(stats, sort_keys=True)} in {time.monotonic() - start:.0f}s",
              file=sys.stderr)
    sys.exit(finish(tally))


if __name__ == "__main__":
    main()
