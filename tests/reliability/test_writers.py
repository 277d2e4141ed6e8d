"""Short run of the concurrent writers soak (``tests/soak/soak_writers.py``)."""

from __future__ import annotations

import pytest

from tests.soak.soak_writers import run

pytestmark = pytest.mark.slow


def test_concurrent_writers_with_a_sync_loop_converge() -> None:
    """4 writer processes (client and store) edit one file for 10 s while `sync --every 1s
    --watch` pushes it: no error, nothing lost or undone, the remote equals the local file."""
    stats: dict[str, int] = {}
    tally = run(runs=1, seconds=10.0, writers=4, models=2, pause=0.02, seed=11, catch_up=60.0,
                stats=stats)
    assert tally.ok, f"{tally.line()}\n" + "\n".join(tally.notes)
    assert tally.runs == 1
    # It really exercised concurrency: both APIs, shared entities, pushes while writing.
    assert stats["writer_errors"] == 0
    assert stats["registrations"] >= 30, stats
    assert stats["edits"] >= 100, stats
    assert stats["reads"] >= 200, stats  # each one checked against the acknowledged writes
    assert stats["cross_edits"] >= 20, stats
    assert stats["client_writes"] >= 50 and stats["store_writes"] >= 50, stats
    assert stats["loop_runs_while_writing"] >= 2, stats
    assert stats["loop_runs_pushing"] >= 2, stats
    assert stats["remote_versions"] == stats["registrations"], stats
