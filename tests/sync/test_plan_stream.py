"""The streamed push plan equals the whole-queue plan it replaced, and its memory stays flat.

``_reference_plan`` is the plan as it was built before streaming (every outbox row read at once,
coalesced in Python, sorted by rank and first ``seq``): the streamed walk must yield exactly
the same ops, in the same order, whatever its page size, while acks delete rows under it and
new changes are queued behind it.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest

from localhub.store import SQLiteStore
from localhub.sync.plan import (
    RANK,
    Op,
    build_plan,
    count_plan,
    iter_plan,
    label_of,
    plan_bound,
    queued_entities,
)
from localhub.types import ModelVersion, RegisteredModel, ServingEnvironment

pytestmark = pytest.mark.own_server  # no server: the outbox plan alone


def _reference_plan(store: SQLiteStore, models: Collection[str] | None = None) -> list[Op]:
    """The plan as built before streaming (sync/plan.py before issue #6's memory work)."""
    ops: dict[str, Op] = {}
    with store.db.read() as conn:
        for row in conn.execute("SELECT * FROM outbox ORDER BY seq").fetchall():
            op = ops.get(row["entity_uid"])
            if op is None:
                op = ops[row["entity_uid"]] = Op(row["entity_uid"], row["entity_table"],
                                                 row["entity_kind"], False, set(), row["seq"],
                                                 row["seq"])
            op.create = op.create or row["op"] == "create"
            op.fields.update(json.loads(row["fields"]))
            op.max_seq = row["seq"]
        for op in ops.values():
            op.label, op.model = label_of(store, conn, op.table, op.uid)
    out = ops.values() if models is None else [o for o in ops.values() if o.model in models]
    return sorted(out, key=lambda o: (RANK.get(o.kind, 9), o.min_seq))


def _key(op: Op) -> tuple[Any, ...]:
    return (op.uid, op.table, op.kind, op.create, sorted(op.fields), op.min_seq, op.max_seq,
            op.label, op.model)


def _raw(store: SQLiteStore, uid: str, table: str, kind: str, op: str, fields: list[str]
         ) -> None:
    """An outbox row written directly (kinds or entities the store would not queue)."""
    with store.db.write() as conn:
        conn.execute("INSERT INTO outbox (entity_table, entity_kind, entity_uid, entity_id, op, "
                     "fields, created_at) VALUES (?, ?, ?, 0, ?, ?, 0)",
                     (table, kind, uid, op, json.dumps(fields)))


def _mixed_queue(store: SQLiteStore) -> None:
    """Creates and later updates interleaved across kinds and models, plus oddities."""
    for i in range(12):
        rm, mv, _ = store.register_model(f"m{i % 4}", f"s3://b/{i}", version=f"v{i}",
                                         metadata={"i": i})
        if i % 3 == 0:
            rm = store.get(RegisteredModel, rm.id)
            rm.description = f"model {i}"
            store.update(rm)
        if i % 2 == 0:
            mv = store.get(ModelVersion, mv.id)
            mv.description = f"version {i}"
            mv.custom_properties = {"i": i, "even": True}
            store.update(mv)
        if i == 5:
            store.create(ServingEnvironment(name="prod"))
    # An entity that no longer exists (label falls back to its uid), and a kind this
    # version does not sync (walked last).
    _raw(store, "gone-uid", "contexts", RegisteredModel.kind, "update", ["description"])
    _raw(store, "exec-uid", "executions", "some-execution", "create", [])
    _raw(store, "exec-uid", "executions", "some-execution", "update", ["state"])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "a.db", synchronous="OFF")
    yield s
    s.close()


@pytest.mark.parametrize("page_size", [1, 3, 500])
@pytest.mark.parametrize("models", [None, {"m1", "m3"}, {"nothing"}])
def test_stream_equals_reference(store: SQLiteStore, page_size: int,
                                 models: set[str] | None) -> None:
    _mixed_queue(store)
    expected = [_key(o) for o in _reference_plan(store, models)]
    got = [_key(o) for o in iter_plan(store, models, page_size=page_size)]
    assert got == expected
    assert [_key(o) for o in build_plan(store, models)] == expected
    assert count_plan(store, models) == len(expected)
    assert count_plan(store, models, supported_only=True) == sum(
        1 for o in _reference_plan(store, models) if o.supported)
    assert [_key(o) for o in iter_plan(store, models, supported_only=True, page_size=page_size)
            ] == [_key(o) for o in _reference_plan(store, models) if o.supported]
    assert queued_entities(store) == len(_reference_plan(store))


def test_walk_is_a_snapshot_while_acks_and_new_changes_happen(store: SQLiteStore) -> None:
    """Acks delete rows under the walk and local edits queue rows behind it, as during a
    push: the walk yields the plan as it was when it started."""
    _mixed_queue(store)
    expected = [_key(o) for o in _reference_plan(store)]
    bound = plan_bound(store)
    got = []
    for n, op in enumerate(iter_plan(store, bound=bound, page_size=2)):
        got.append(_key(op))
        if n % 3 != 2:  # acknowledged; every third op stays queued (blocked, conflict)
            with store.db.write() as conn:
                conn.execute("DELETE FROM outbox WHERE entity_uid = ? AND seq <= ?",
                             (op.uid, op.max_seq))
        if op.kind == RegisteredModel.kind and op.label.startswith("model "):
            rm = store.find(RegisteredModel, name=op.label.split(" ", 1)[1])
            rm.description = f"edited while pushing {n}"
            store.update(rm)  # queued after the bound: next run
    assert got == expected
    assert plan_bound(store) > bound


def _queue(path: Path, versions: int) -> SQLiteStore:
    store = SQLiteStore(path, synchronous="OFF")
    with store.batch():
        for i in range(versions):
            store.register_model(f"model-{i % 20:02d}", f"s3://b/{i}", version=f"v{i}",
                                 metadata={"accuracy": 0.9, "epochs": i})
    return store


def _walk_peak(store: SQLiteStore) -> tuple[int, int]:
    """(ops walked, peak traced bytes while walking and dropping each op)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        n = sum(1 for _ in iter_plan(store))
        return n, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_plan_memory_is_flat_in_the_queue_length(tmp_path: Path) -> None:
    """Measured, not timed: the walk's peak Python allocation does not grow with the queue
    (the whole-queue plan took ~2 KiB per op)."""
    small, big = _queue(tmp_path / "s.db", 500), _queue(tmp_path / "b.db", 4000)
    try:
        n_small, peak_small = _walk_peak(small)
        n_big, peak_big = _walk_peak(big)
        assert (n_small, n_big) == (1020, 8020)
        # 7,000 more ops: well under 100 bytes per extra op (the old plan: ~2,000).
        assert peak_big - peak_small < 7000 * 100, (peak_small, peak_big)
        tracemalloc.start()
        try:
            whole = build_plan(big)
            held = tracemalloc.get_traced_memory()[0]
            assert len(whole) == n_big and held > 5 * peak_big  # the list does grow
        finally:
            tracemalloc.stop()
    finally:
        small.close()
        big.close()
