"""Short run of the two-device conflict soak (``tests/soak/soak_devices.py``), and proof that
its checks see a planted silent overwrite and a planted lost change."""

from __future__ import annotations

from collections import Counter

import pytest

from localhub.rest_client import RemoteRegistry
from localhub.sync.ledger import Ledger
from localhub.types import RegisteredModel

from tests.soak import soak_devices as soak
from tests.soak._soak import Stack


@pytest.mark.slow
def test_two_devices_short_soak() -> None:
    stats: Counter[str] = Counter()
    # Seeds that exercise what test_two_devices_conflicts checks: 7 a silent overwrite
    # ("ours" over a value never shown), 11 a run that must converge.
    tally = soak.run(seeds=[7, 11], steps=30, cli_rate=0.15, third_party_rate=0.12,
                     stats=stats)
    assert tally.ok, f"{tally.line()}\n" + "\n".join(tally.notes[:20])
    assert tally.runs == 2 and tally.converged == 2
    # It did what it claims: both kinds of sync, a third party, conflicts listed and left
    # open until the end (differences they covered), then resolved.
    assert stats["syncs_engine"] and stats["syncs_cli"], stats
    assert stats["third_party_http"] + stats["third_party_official"], stats
    assert stats["conflict:update-update"] and stats["conflict:create-different"], stats
    assert stats["differences_covered"] and stats["resolved"], stats
    assert stats["remote_values_replaced"], stats


def _describe(run: soak.Run, dev: soak.Device, name: str, text: str) -> None:
    rm = dev.store.find(RegisteredModel, name=name)
    assert rm is not None
    before = soak.flat(dev.store)
    rm.description = text
    dev.store.update(rm)
    soak._record_writes(dev, before, soak.flat(dev.store))


@pytest.mark.slow
def test_checks_see_planted_faults() -> None:
    with Stack() as stack, soak.session(stack, seed=1) as run:
        soak.seed_models(run, 2)
        a, b = run.devices["a"], run.devices["b"]
        # A silent overwrite: B is made to believe it saw A's value (its link re-based on
        # the remote behind the engine's back), so its push replaces a value it never had.
        _describe(run, a, "m0", "from a")
        soak.sync(run, a, "full")
        _describe(run, b, "m0", "from b")
        remote = RemoteRegistry(stack.url)
        try:
            with b.store.db.read() as conn:
                uid = conn.execute("SELECT uid FROM contexts WHERE name = 'm0'").fetchone()[0]
            ledger = Ledger(b.store, stack.url)
            with b.store.db.write() as conn:
                link = ledger.link(conn, uid)
                assert link is not None
                fetched = remote.fetch(RegisteredModel, link.remote_id)
                ledger.set_link(conn, uid, "contexts", fetched.entity, fetched.etag)
        finally:
            remote.close()
        soak.sync(run, b, "full")
        assert run.silent == 1, run.notes
        # A remote change B's pull misses (its watermark moved past it): B no longer mirrors
        # the remote, and nothing explains why.
        _describe(run, a, "m1", "missed by b")
        soak.sync(run, a, "full")
        with b.store.db.write() as conn:
            Ledger(b.store, stack.url).set_state(conn, "watermark:registered-models",
                                                 str(10**15))
        soak.sync(run, b, "full")
        assert run.silent == 2, run.notes
        # A lost change: B's queued edit of m1 vanishes from its outbox.
        _describe(run, b, "m1", "never sent")
        with b.store.db.write() as conn:
            conn.execute("DELETE FROM outbox")
        uncovered, lost = soak.settle(run)
        assert lost == 1 and uncovered >= 1, run.notes
