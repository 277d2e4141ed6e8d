"""Pull progress (issue 14, item 8): counted per entity, not per kind."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from localhub.sync.run import PULL_KINDS, PullMeter
from localhub.types import Artifact, ModelVersion, RegisteredModel

from tests.support.sync_env import Env

MODELS = 8
VERSIONS = 2  # per model, each with one artifact


class Recorder:
    """A progress callback that also takes the pull's per-kind counts."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self.counts: list[dict[str, int]] = []

    def pull_counts(self, counts: Mapping[str, int]) -> None:
        self.counts.append(dict(counts))

    def __call__(self, phase: str, done: int, total: int) -> None:
        self.calls.append((phase, done, total))

    def pulls(self) -> list[int]:
        return [done for phase, done, _total in self.calls if phase == "pull"]


def _fill(env: Env) -> int:
    """A few dozen entities on the remote (pushed from store "a"); how many."""
    a = env.store("a")
    for m in range(MODELS):
        for v in range(VERSIONS):
            a.register_model(f"m{m}", f"s3://b/m{m}/{v}", version=f"v{v}")
    assert env.sync("a").created == MODELS * (1 + 2 * VERSIONS)
    remote = env.remote()
    try:
        return sum(len(list(remote.list_all(cls)))
                   for cls in (RegisteredModel, ModelVersion, Artifact))
    finally:
        remote.close()


def test_first_pull_counts_every_entity(env: Env) -> None:
    """A first pull's progress grows per entity, with unknown total, and ends at the count."""
    entities = _fill(env)
    assert entities == MODELS * (1 + 2 * VERSIONS)
    seen = Recorder()
    report = env.sync("b", progress=seen)
    assert report.pulled == entities
    done = seen.pulls()
    assert done[0] == 0 and done[-1] == entities
    assert done == sorted(done)
    assert all(total == 0 for phase, _d, total in seen.calls if phase == "pull")
    # It moves within a kind (the artifacts are placed version by version), not once a kind.
    assert len(set(done)) > len(PULL_KINDS) + 1
    assert len(seen.counts) == len(done)
    assert all(sum(c.values()) == d for c, d in zip(seen.counts, done, strict=True))
    assert seen.counts[-1] == {"models": MODELS, "versions": MODELS * VERSIONS,
                               "artifacts": MODELS * VERSIONS, "serving environments": 0}


def test_incremental_pull_counts_what_it_lists(env: Env) -> None:
    """A later pull counts the entities its window lists (found unchanged or applied)."""
    _fill(env)
    env.sync("b")
    a = env.store("a")
    model = a.find(RegisteredModel, name="m0")
    model.description = "changed"
    a.update(model)
    env.sync("a")
    seen = Recorder()
    report = env.sync("b", progress=seen)
    assert report.pulled == 1
    done = seen.pulls()
    assert done == sorted(done) and done[0] == 0 and done[-1] >= 1
    assert sum(seen.counts[-1].values()) == done[-1]


@given(st.lists(st.tuples(st.sampled_from(range(len(PULL_KINDS))),
                          st.integers(min_value=0, max_value=30),
                          st.lists(st.integers(min_value=-3, max_value=40), max_size=6)),
                max_size=len(PULL_KINDS), unique_by=lambda kind: kind[0]))
def test_meter_grows_and_ends_at_the_listed_sizes(
        kinds: list[tuple[int, int, list[int]]]) -> None:
    """Whatever a pull adds (retries count twice), the count only grows and ends at the sum
    of the listings' sizes."""
    seen = Recorder()
    meter = PullMeter(seen)
    sizes: dict[str, int] = {}
    for index, size, adds in kinds:
        kind = PULL_KINDS[index]
        meter.listed(kind, size)
        sizes[kind] = size
        for n in adds:
            meter.add(kind, n)
        meter.finish(kind)
    done = seen.pulls()
    assert done == sorted(done)
    assert meter.done == sum(sizes.values())
    assert not done or done[-1] == meter.done
