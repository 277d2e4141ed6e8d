"""A pull interrupted by faults goes on where it stopped, within a run and in the next run,
and isolated faults spread over a long pull do not spend its retry budget.

A pull into an empty store lists, for each version, its artifacts (``/artifacts`` does not
say which version an artifact belongs to); the faults here hit that walk.
"""

from __future__ import annotations

from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, SyncReport

from tests.soak._soak import Stack, content

N = 12
VERSION_ARTIFACTS = "GET /api/model_registry/v1/model_versions/"
MODELS_LIST = "/api/model_registry/v1/registered_models?"


def _nap(_seconds: float) -> None:
    pass


def _sync(store: SQLiteStore, url: str, *, max_attempts: int = 5) -> SyncReport:
    remote = RemoteRegistry(url)
    try:
        return SyncEngine(store, remote, sleep=_nap, max_attempts=max_attempts).run()
    finally:
        remote.close()


def _stack_with_versions(stack: Stack) -> None:
    a = stack.store("a")
    try:
        for i in range(N):
            a.register_model(f"m{i:02d}", f"s3://b/{i}", version="v1")
        assert _sync(a, stack.url).remaining == 0
    finally:
        a.close()


def _fail_every_third_version_listing(stack: Stack) -> None:
    # A rule counts the matching requests that no earlier rule took: rule k (from 1) fires
    # at the (2k + 1)th of those, the (3k)th of all.
    stack.proxy_rules(*[{"match": VERSION_ARTIFACTS, "nth": 2 * k + 1, "action": "status",
                         "status": 503} for k in range(1, 4 * N)])


def test_pull_cut_short_in_the_artifact_walk_goes_on_next_run() -> None:
    """A pull cut short in the artifact walk goes on from there in the next run, until complete."""
    with Stack(proxy=True) as stack:
        _stack_with_versions(stack)
        _fail_every_third_version_listing(stack)
        b = stack.store("b")
        try:
            reports = []
            for _ in range(N):  # every run stops at its first fault, after 2 listings
                reports.append(_sync(b, stack.url, max_attempts=1))
                if reports[-1].stopped is None:
                    break
            assert reports[-1].stopped is None, [r.stopped for r in reports]
            assert content(b) == stack.remote_content()
        finally:
            b.close()


def test_retry_within_a_run_goes_on_where_the_pull_failed() -> None:
    """A retry within a run resumes the walk: models listed once, each version's artifacts once."""
    with Stack(proxy=True) as stack:
        _stack_with_versions(stack)
        _fail_every_third_version_listing(stack)
        b = stack.store("b")
        try:
            start = len(stack.proxy_log())
            report = _sync(b, stack.url, max_attempts=N)
            assert report.stopped is None
            assert content(b) == stack.remote_content()
            log = stack.proxy_log()[start:]
            # Retries resumed the walk: the models were listed once, each version's
            # artifacts once plus the failed listings.
            assert sum(1 for e in log if e[1].startswith(MODELS_LIST)) == 1, log
            walk = [e for e in log if f"{e[0]} {e[1]}".startswith(VERSION_ARTIFACTS)]
            assert sum(1 for e in walk if e[2] == 200) == N, walk
        finally:
            b.close()


def test_one_run_pulls_through_faults_spread_over_a_long_pull() -> None:
    """One run pulls through 6 isolated faults spread over a long pull (12 versions, every third
    artifact listing fails once): the retry budget restarts when the pull progresses."""
    with Stack(proxy=True) as stack:
        _stack_with_versions(stack)
        _fail_every_third_version_listing(stack)
        b = stack.store("b")
        try:
            report = _sync(b, stack.url)
            assert report.stopped is None
            assert content(b) == stack.remote_content()
        finally:
            b.close()
