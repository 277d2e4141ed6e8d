"""Randomised runs through the fault proxy converge: 0 duplicates, 0 lost changes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from localhub.store import SQLiteStore
from localhub.types import ModelVersion, ModelVersionState, RegisteredModel

from tests.support.sync_checks import content as _content
from tests.support.sync_env import Env

ACTIONS: list[dict[str, Any]] = [
    {"action": "drop"}, {"action": "refuse"}, {"action": "status", "status": 503},
    {"action": "status", "status": 429, "retry_after": "0"},
    {"action": "status", "status": 502}, {"action": "drop", "delay": 0.05}]


@pytest.mark.slow
@pytest.mark.parametrize("seed", list(range(1, 6)))
def test_random_faults_converge(env: Env, seed: int) -> None:
    rng = random.Random(seed)
    a = env.store("a")
    names: list[str] = []
    for rnd in range(4):
        for _ in range(rng.randint(1, 4)):
            if names and rng.random() < 0.4:
                model = rng.choice(names)
                a.register_model(model, f"s3://b/{model}/{rnd}-{rng.random()}",
                                 version=f"r{rnd}-{rng.randint(0, 10**6)}")
            else:
                model = f"m{len(names)}"
                names.append(model)
                a.register_model(model, f"s3://b/{model}", version="v1",
                                 metadata={"seed": seed})
        for rm in a.list_page(RegisteredModel).items:
            if rng.random() < 0.3:
                rm.description = f"d{rnd}"
                rm.custom_properties = {**(rm.custom_properties or {}), f"k{rnd}": rnd}
                a.update(rm)
        for mv in a.list_page(ModelVersion).items:
            if rng.random() < 0.2:
                mv.state = rng.choice(list(ModelVersionState))
                a.update(mv)
        env.proxy.rules(*[{"match": rng.choice(["POST", "PATCH", "GET"]),
                           "nth": rng.randint(1, 5), **rng.choice(ACTIONS)}
                          for _ in range(rng.randint(1, 4))])
        report = env.sync("a", max_attempts=rng.randint(1, 3))
        # A 5xx on every try of one op, while other requests succeed, sets that op (and its
        # children) aside until the next run; nothing else may.
        assert report.conflicts == 0, report
        assert all("HTTP 50" in e or "parent was set aside" in e for e in report.errors), report
        assert report.set_aside == len(report.errors), report
    env.proxy.reset()
    final = env.sync("a")
    assert (final.remaining, final.conflicts, final.set_aside) == (0, 0, 0), final
    assert a.pending() == []
    remote = SQLiteStore(env.server.db)
    try:
        assert _content(remote) == _content(a)  # nothing lost, nothing duplicated
    finally:
        remote.close()
    # A fresh store pulls the same content.
    env.sync("b")
    assert _content(env.store("b")) == _content(a)
