"""Short run of the kill-points soak (``tests/soak/soak_kill.py``): kill -9 at random moments
of a push, at each step of a registration, and of a local registration loop."""

from __future__ import annotations

import pytest

from tests.soak.soak_kill import POST_PATHS, run


@pytest.mark.slow
def test_kill_points_short_run() -> None:
    tally = run(runs=3, ops=45, max_kills=2, steps="quick", local_runs=1, local_kills=3, seed=7)
    assert tally.ok, tally.line() + "\n" + "\n".join(tally.notes)
    assert tally.runs == 3 + 8 + 1
    # Random moments: every run was killed at least once (the first kill lands mid-push),
    # and both the real CLI and the engine script were killed.
    assert tally.random_runs == 3 and tally.cli_runs == 2
    assert tally.kills >= 3 + 8, tally.kills
    # Steps: each request was held where asked, the remote held exactly the part of the push
    # the phase implies when the process died, and a POST applied before the kill was adopted.
    for step in tally.steps:
        assert step.held, step
        assert step.lost_at_kill == step.expected_at_kill, step
    posts = [s for s in tally.steps if s.method == "POST"]
    assert [POST_PATHS[s.nth - 1] in s.path for s in posts] == [True] * 6
    assert all(s.adopted == 1 and s.created == 3 - s.nth for s in posts if s.phase == "after")
    assert all(s.adopted == 0 and s.created == 4 - s.nth for s in posts if s.phase == "before")
    patches = [s for s in tally.steps if s.method == "PATCH"]
    assert len(patches) == 2 and all("/registered_models/" in s.path for s in patches)
    # The local registration loop was killed mid-run and had registered something.
    assert tally.local_kills == 3 and tally.registrations > 0
