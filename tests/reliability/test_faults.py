"""Short run of the fault proxy soak (``tests/soak/soak_faults.py``): one seed, 150 ops."""

from __future__ import annotations

import pytest

from tests.soak.soak_faults import FAULT_KINDS, run


@pytest.mark.slow
def test_fault_proxy_soak_short() -> None:
    # Seed 2: its faults usually include dropped replies of writes (seed 1's fall on reads only).
    tally = run(runs=1, ops=150, seed=2, timeout=1.0, max_syncs=60)
    detail = tally.line() + "\n" + "\n".join(tally.notes)
    assert tally.ok, detail
    # It really ran through faults: every kind injected, the pull's GETs hit too.
    assert tally.ops >= 150, detail
    assert all(tally.faults[kind] > 0 for kind in FAULT_KINDS), detail
    assert tally.pull_get_faults > 0, detail
    # Every create the server applied but whose reply was lost is adopted, none made twice.
    # How many replies the proxy drops depends on the order of concurrent requests, so a run
    # may drop none; tests/reliability/test_lost_replies.py drops one of each kind on purpose.
    assert tally.adopted == tally.dropped_creates, detail
    assert tally.syncs >= 4, detail
