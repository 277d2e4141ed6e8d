"""Fault proxy soak: push, pull and remote-side changes through a link that fails 20% of calls.

    python -m tests.soak.soak_faults            # 3 seeds of 1,000 operations
    python -m tests.soak.soak_faults --quick    # 1 seed of 150 ops (as in CI)
    python -m tests.soak.soak_faults --runs 1 --ops 500 --seed 7

One run (one seed) starts a real ``localhub serve`` with the fault proxy in front of it, in
random mode: ``fault_rate`` of the requests (20%) get a fault drawn from every kind the proxy
has (refused, reset, 500, 502, 503, 429, timeout, and "drop": applied by the server, reply
lost). Then:

1. Store A links a few models to the remote directly (no faults), then queues ``ops``
   operations: new models with versions and artifacts, new versions of linked models, and
   updates of linked models, versions and artifacts (each counted once, as the push
   coalesces them). A syncs through the proxy (in-process ``SyncEngine``, short client
   timeouts, short sleeps) until nothing is queued and a run ends cleanly, at most
   ``max_syncs`` runs.
2. An empty store B pulls through the same proxy until a run ends cleanly.
3. Someone edits the remote directly (model descriptions, a version property, new models)
   while A edits other fields of the same entities and registers more; A and then B sync
   through the proxy again.

Figures: ``runs`` seeds; ``converged`` seeds whose every phase ended cleanly within the caps
with A, B and the remote holding the same content, nothing queued in A and no conflict or
set-aside recorded (nobody else writes the same fields, so any conflict is spurious);
``duplicates`` rows sharing a natural key in the remote or in B, plus remote entities that
nobody created; ``lost`` local entities or edits missing (or different) on the remote, and
remote entities missing (or different) in A or B; ``silent_overwrites`` remote-side edits of
phase 3 that the remote no longer holds after A's sync. Notes (stderr): faults injected by
kind, faults that hit the pull's GETs, creates adopted after a lost reply, sync runs and wall
time per phase, and the longest single sync run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from localhub.errors import LocalHubError
from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, SyncReport
from localhub.sync.plan import build_plan
from localhub.types import (
    ArtifactState,
    ModelArtifact,
    ModelVersion,
    ModelVersionState,
    RegisteredModel,
)

from tests.soak._soak import Stack, Tally, compare, content, duplicates_in, finish

#: How the proxy logs each fault kind (the kinds are the proxy's default list).
FAULT_LOG = {"refused": "refuse", "reset": "reset", "timeout": "timeout", "dropped": "drop",
             500: "500", 502: "502", 503: "503", 429: "429"}
FAULT_KINDS = ("refuse", "reset", "500", "502", "503", "429", "timeout", "drop")


@dataclass
class FaultTally(Tally):
    """The soak's figures plus what it exercised, for the CI test to check."""

    #: Faults the proxy injected, by kind, over all runs.
    faults: Counter[str] = field(default_factory=Counter)
    #: Faults that hit GET requests during the pulls of empty store B.
    pull_get_faults: int = 0
    #: Writes (POST, PATCH) the server applied and whose reply the proxy dropped.
    dropped_writes: int = 0
    #: Operations A queued (from the push plan) over all runs.
    ops: int = 0
    #: Sync runs, and the longest one in seconds.
    syncs: int = 0
    #: Creates (POST) the server applied and whose reply the proxy dropped.
    dropped_creates: int = 0
    #: Creates adopted after a lost reply (the lookup found the entity the lost POST made).
    adopted: int = 0
    longest_sync: float = 0.0


def _sleep(seconds: float) -> None:
    time.sleep(min(seconds, 0.05))  # backoff and Retry-After, kept short for the soak


def _count(store: SQLiteStore, sql: str) -> int:
    with store.db.read() as conn:
        return int(conn.execute(sql).fetchone()[0])


def _conflicts(store: SQLiteStore) -> int:
    return _count(store, "SELECT count(*) FROM sync_conflicts")


def _set_aside(store: SQLiteStore) -> int:
    return _count(store, "SELECT count(*) FROM sync_items WHERE set_aside_at IS NOT NULL")


def _faults(entries: list[list[Any]]) -> Counter[str]:
    return Counter(FAULT_LOG[e[2]] for e in entries if e[2] in FAULT_LOG)


class _Syncer:
    """Repeated in-process syncs of one store through the proxy, with wall times."""

    def __init__(self, tally: FaultTally, url: str, timeout: float, seed: int,
                 max_syncs: int) -> None:
        self.tally, self.url, self.timeout, self.max_syncs = tally, url, timeout, max_syncs
        self.rng = random.Random(seed)

    def once(self, store: SQLiteStore) -> SyncReport | None:
        remote = RemoteRegistry(self.url, timeout=(self.timeout, self.timeout))
        start = time.monotonic()
        try:
            report = SyncEngine(store, remote, sleep=_sleep, rng=self.rng).run()
            self.tally.adopted += report.adopted
            return report
        except LocalHubError as exc:  # a sync that raises instead of stopping is a finding
            self.tally.notes.append(f"sync raised {type(exc).__name__}: {exc}")
            return None
        finally:
            remote.close()
            took = time.monotonic() - start
            self.tally.syncs += 1
            self.tally.longest_sync = max(self.tally.longest_sync, took)

    def until_clean(self, store: SQLiteStore, what: str) -> bool:
        """Sync until a run ends cleanly with nothing queued; False at the cap."""
        start = time.monotonic()
        for n in range(1, self.max_syncs + 1):
            report = self.once(store)
            if report is None:
                break
            if report.stopped is None and report.remaining == 0:
                self.tally.notes.append(f"{what}: clean after {n} sync runs, "
                                        f"{time.monotonic() - start:.1f}s")
                return True
        self.tally.notes.append(f"{what}: NOT clean after {n} sync runs")
        return False


def _queue(a: SQLiteStore, rng: random.Random, ops: int) -> None:
    """Queue about ``ops`` push operations on A (linked entities exist already)."""
    models = a.list_page(RegisteredModel).items
    versions = a.list_page(ModelVersion).items
    arts = [art for mv in versions for art in a.version_artifacts(str(mv.id))]
    linked: list[Any] = [*models, *versions, *arts]
    rng.shuffle(linked)
    names = [m.name for m in models]
    queued, n = 0, 0
    while queued < ops:
        roll = rng.random()
        if roll < 0.4 and linked:
            entity = linked.pop()
            if isinstance(entity, RegisteredModel):
                entity.description = f"edited {n}"
                entity.custom_properties = {**(entity.custom_properties or {}), "edit": n}
            elif isinstance(entity, ModelVersion):
                entity.state = rng.choice(list(ModelVersionState))
                entity.description = f"edited {n}"
                entity.custom_properties = {**(entity.custom_properties or {}), "n": str(n)}
            else:
                entity.model_format_name = rng.choice(["onnx", "pytorch", None])
                entity.state = rng.choice([ArtifactState.LIVE, ArtifactState.PENDING])
                if rng.random() < 0.5:
                    entity.uri = f"s3://soak/edited/{n}"
            a.update(entity)
            queued += 1
        elif roll < 0.55 and names and ops - queued >= 2:
            a.register_model(rng.choice(names), f"s3://soak/v/{n}", version=f"v-{n}",
                             metadata={"n": n})
            queued += 2
        else:
            name = f"m-{n:05d}"
            rm, mv, _ = a.register_model(name, f"s3://soak/{name}", version="v1",
                                         author=rng.choice(["ann", "bob", None]),
                                         metadata={"n": n, "ok": rng.random() < 0.5})
            if rng.random() < 0.3:  # coalesced into the create
                rm.description = f"new {n}"
                a.update(rm)
                mv.state = ModelVersionState.ARCHIVED
                a.update(mv)
            names.append(name)
            queued += 3
        n += 1


def _edit_both_sides(stack: Stack, a: SQLiteStore, rng: random.Random, count: int, seed: int
                     ) -> tuple[list[tuple[tuple[str, ...], int, Any]],
                                list[tuple[tuple[str, ...], int, Any]]]:
    """Phase 3: remote-side edits (directly on serve) and local edits of other fields of the
    same entities. Returns (remote edits, local edits) as (content key, field index, value);
    a value of ("cp", key, v) means custom property ``key`` = v."""
    direct = RemoteRegistry(stack.remote_url)
    remote_edits: list[tuple[tuple[str, ...], int, Any]] = []
    local_edits: list[tuple[tuple[str, ...], int, Any]] = []
    try:
        picked = rng.sample(direct.list_page(RegisteredModel).items,
                            count)
        for i, rm in enumerate(picked):
            rm.description = f"remote {seed}-{i}"
            direct.update(rm)
            remote_edits.append(((rm.name,), 0, rm.description))
            mv = rng.choice(direct.list_page(ModelVersion, parent_id=rm.id).items)
            mv.custom_properties = {**(mv.custom_properties or {}), "r": i}
            direct.update(mv)
            remote_edits.append(((rm.name, mv.name), 3, ("cp", "r", i)))
            local_rm = a.find(RegisteredModel, name=rm.name)
            assert local_rm is not None
            local_rm.owner = f"local {i}"
            a.update(local_rm)
            local_edits.append(((rm.name,), 1, local_rm.owner))
            local_mv = a.find_version(rm.name, mv.name)[1]
            assert local_mv is not None
            local_mv.description = f"local {i}"
            local_mv.custom_properties = {**(local_mv.custom_properties or {}), "l": i}
            a.update(local_mv)
            local_edits.append(((rm.name, mv.name), 0, local_mv.description))
            local_edits.append(((rm.name, mv.name), 3, ("cp", "l", i)))
        for i in range(count // 2 + 1):
            name = f"remote-{seed}-{i}"
            rm = direct.create(RegisteredModel(name=name, description="made remotely"))
            assert rm.id is not None
            mv = direct.create(ModelVersion(name="v1", registered_model_id=rm.id))
            assert mv.id is not None
            direct.create(ModelArtifact(name=name, uri=f"s3://remote/{name}"), version_id=mv.id)
            remote_edits.append(((name, "v1", name), 0, f"s3://remote/{name}"))
            local = f"local-{seed}-{i}"
            a.register_model(local, f"s3://local/{local}", version="v1")
            local_edits.append(((local, "v1", local), 0, f"s3://local/{local}"))
    finally:
        direct.close()
    return remote_edits, local_edits


def _holds(tree: dict[str, Any], key: tuple[str, ...], index: int, value: Any) -> bool:
    """Does the content tree hold ``value`` at field ``index`` of the entity ``key``?"""
    node: Any = tree.get(key[0])
    if node is not None and len(key) > 1:
        node = node[4].get(key[1])
    if node is not None and len(key) > 2:
        node = node[4].get(key[2])
    if node is None:
        return False
    if isinstance(value, tuple) and value[0] == "cp":
        return bool((node[index] or {}).get(value[1]) == value[2])
    return bool(node[index] == value)


def _one(tally: FaultTally, *, ops: int, seed: int, fault_rate: float, timeout: float,
         max_syncs: int, both_sides: bool) -> bool:
    """One seed; adds to the tally's figures; True when everything converged."""
    rng = random.Random(seed)
    with Stack(proxy=True) as stack:
        a, b = stack.store("a"), stack.store("b")
        syncer = _Syncer(tally, stack.url, timeout, seed, max_syncs)
        try:
            for i in range(max(5, ops // 10)):
                a.register_model(f"base-{i:04d}", f"s3://soak/base/{i}", version="v1",
                                 metadata={"i": i})
            first = syncer.once(a)  # linked through the proxy before its faults are on
            assert first is not None and first.remaining == 0, first
            _queue(a, rng, ops)
            queued = len(build_plan(a))
            tally.ops += queued
            stack.proxy_reset()
            stack.proxy_mode(fault_rate=fault_rate, seed=seed, timeout_seconds=timeout + 1)
            clean = syncer.until_clean(a, f"seed {seed}: push of {queued} operations")
            remote = stack.remote_content()
            lost, extra = compare(content(a), remote)
            clean = clean and not a.pending()

            pull_from = len(stack.proxy_log())
            clean = syncer.until_clean(b, f"seed {seed}: pull into an empty store") and clean
            pull_log = stack.proxy_log()[pull_from:]
            tally.pull_get_faults += sum(1 for e in pull_log
                                         if e[0] == "GET" and e[2] in FAULT_LOG)
            b_lost, b_extra = compare(remote, content(b))
            lost += b_lost
            extra += b_extra

            if both_sides:
                remote_edits, local_edits = _edit_both_sides(
                    stack, a, rng, max(2, ops // 50), seed)
                clean = syncer.until_clean(a, f"seed {seed}: both sides edited, A") and clean
                clean = syncer.until_clean(b, f"seed {seed}: both sides edited, B") and clean
                remote = stack.remote_content()
                tally.lost += sum(1 for k, i, v in local_edits if not _holds(remote, k, i, v))
                tally.silent_overwrites += sum(1 for k, i, v in remote_edits
                                               if not _holds(remote, k, i, v))
                for tree in (content(a), content(b)):
                    more_lost, more_extra = compare(remote, tree)
                    lost += more_lost
                    extra += more_extra
                clean = clean and not a.pending()

            dups = stack.remote_duplicates() + duplicates_in(stack.dir / "b.db")
            conflicts = _conflicts(a) + _conflicts(b)
            set_aside = _set_aside(a) + _set_aside(b)
            log = stack.proxy_log()
            faults = _faults(log)
            tally.dropped_writes += sum(1 for e in log
                                        if e[2] == "dropped" and e[0] in ("POST", "PATCH"))
            tally.dropped_creates += sum(1 for e in log if e[2] == "dropped" and e[0] == "POST")
            tally.faults.update(faults)
            tally.lost += lost
            tally.duplicates += dups + extra
            tally.notes.append(
                f"seed {seed}: {queued} operations, faults {sum(faults.values())} "
                f"{dict(sorted(faults.items()))}, lost={lost} extra={extra} duplicates={dups} "
                f"conflicts={conflicts} set_aside={set_aside}")
            return (clean and lost == 0 and extra == 0 and dups == 0 and conflicts == 0
                    and set_aside == 0)
        finally:
            a.close()
            b.close()


def run(*, runs: int = 3, ops: int = 1000, seed: int = 1, fault_rate: float = 0.2,
        timeout: float = 2.0, max_syncs: int = 200, both_sides: bool = True) -> FaultTally:
    """``runs`` seeds (``seed``, ``seed + 1``, ...) of ``ops`` queued operations each;
    ``timeout`` is the client's connect and read timeout (the proxy's "timeout" fault holds
    a request one second longer)."""
    tally = FaultTally("faults")
    start = time.monotonic()
    for n in range(runs):
        tally.runs += 1
        if _one(tally, ops=ops, seed=seed + n, fault_rate=fault_rate, timeout=timeout,
                max_syncs=max_syncs, both_sides=both_sides):
            tally.converged += 1
    missing = [k for k in FAULT_KINDS if not tally.faults[k]]
    tally.notes.append(
        f"{tally.syncs} sync runs, longest {tally.longest_sync:.1f}s; faults injected "
        f"{sum(tally.faults.values())}, on the pull's GETs {tally.pull_get_faults}; "
        f"replies of writes dropped {tally.dropped_writes} (creates {tally.dropped_creates}), "
        f"creates adopted after a lost reply {tally.adopted}"
        + (f"; never injected: {missing}" if missing else "")
        + f"; wall {time.monotonic() - start:.0f}s")
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed of 150 operations")
    parser.add_argument("--runs", type=int, help="seeds to run (default 3)")
    parser.add_argument("--ops", type=int, help="queued operations per seed (default 1000)")
    parser.add_argument("--seed", type=int,
                        help="first seed (default 1; --quick: 2, as the CI test)")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, help="client timeout in seconds (default 2)")
    parser.add_argument("--no-both-sides", action="store_true",
                        help="skip phase 3 (remote-side edits pulled back)")
    args = parser.parse_args()
    quick = args.quick
    tally = run(runs=args.runs or (1 if quick else 3), ops=args.ops or (150 if quick else 1000),
                seed=args.seed or (2 if quick else 1), fault_rate=args.fault_rate,
                timeout=args.timeout or (1.0 if quick else 2.0),
                both_sides=not args.no_both_sides)
    sys.exit(finish(tally))


if __name__ == "__main__":
    main()
