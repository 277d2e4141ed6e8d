"""Random offline edits on two stores, syncs in random order: after quiescence both stores
equal the remote, except for fields listed in open conflicts."""

from __future__ import annotations

import random

import pytest

from localhub.store import SQLiteStore
from localhub.types import ModelVersion, ModelVersionState, RegisteredModel

from tests.support.sync_checks import check_converged as _check
from tests.support.sync_env import Env


def _edit(store: SQLiteStore, rng: random.Random, tag: str) -> None:
    roll = rng.random()
    models = store.list_page(RegisteredModel).items
    if roll < 0.3 or not models:
        name = f"m{rng.randint(0, 3)}"
        try:
            store.register_model(name, f"s3://{name}/{rng.randint(0, 1)}",
                                 version=f"v{rng.randint(0, 2)}")
        except Exception:  # noqa: BLE001 - the version exists locally already
            pass
        return
    if roll < 0.6:
        rm = rng.choice(models)
        setattr(rm, rng.choice(["description", "owner"]), f"{tag}{rng.randint(0, 2)}")
        store.update(rm)
        return
    versions = store.list_page(ModelVersion).items
    if not versions:
        return
    mv = rng.choice(versions)
    if roll < 0.8:
        props = dict(mv.custom_properties or {})
        props[f"k{rng.randint(0, 2)}"] = f"{tag}{rng.randint(0, 2)}"
        mv.custom_properties = props
    else:
        mv.state = rng.choice(list(ModelVersionState))
    store.update(mv)


@pytest.mark.slow
@pytest.mark.parametrize("seed", list(range(1, 7)))
def test_two_stores_converge_or_list_conflicts(env: Env, seed: int) -> None:
    rng = random.Random(seed)
    stores = {"a": env.store("a"), "b": env.store("b")}
    for step in range(25):
        name = rng.choice("ab")
        if rng.random() < 0.3:
            env.sync(name, direct=True)
        else:
            _edit(stores[name], rng, f"{name}{step}-")
    for _ in range(2):  # quiescence
        for name in "ab":
            env.sync(name, direct=True)
    for name in "ab":
        _check(env, stores[name])
