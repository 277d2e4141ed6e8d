"""A reply lost after the server applied a push's request, then a local edit: the next sync
pushes the edit, never a conflict against our own earlier write.

The server applied a request of a push but the sync never got the reply (kill -9, or the
network gone), and the user edited the same entity before the next sync. Nobody else wrote
to the remote: what it holds is exactly what this store sent. The next sync must push the
edit, not record a conflict against our own earlier write:

* a create (POST) -> the rerun must adopt the entity, not record ``create-different`` (which
  would also block the entity's children);
* an update (PATCH) -> the rerun's three-way merge must not see the field changed on both
  sides (``update-update``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, SyncReport, list_conflicts

from tests.soak._soak import Stack, compare, content

ENTITIES = ["registered_models", "model_versions", "artifacts"]


class _ReplyLost(requests.adapters.HTTPAdapter):
    """A transport that sends requests until the server has applied the first ``method``
    request whose path has ``part``; that reply and every later request fail, as when the
    process died there."""

    def __init__(self, method: str, part: str) -> None:
        super().__init__()
        self.method, self.part, self.gone = method, part, False

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        if self.gone:
            raise requests.ConnectionError("offline")
        resp = super().send(request, *args, **kwargs)
        if request.method == self.method and self.part in str(request.url):
            self.gone = True
            raise requests.ConnectionError("the reply was lost")
        return resp


@pytest.fixture(scope="module")
def stack(server_flavour: str) -> Iterator[Stack]:
    """One remote per module and server flavour (the flavour's quirks reach it)."""
    with Stack() as s:
        yield s


def _sync(stack: Stack, store: SQLiteStore, transport: _ReplyLost | None = None
          ) -> SyncReport:
    remote = RemoteRegistry(stack.url, transport=transport)
    try:
        return SyncEngine(store, remote, sleep=lambda _s: None, max_attempts=2).run()
    finally:
        remote.close()


def _edit(store: SQLiteStore, entities: tuple[Any, ...], tag: str) -> None:
    rm, mv, art = (store.get(type(e), e.id) for e in entities)
    rm.description = f"description {tag}"
    store.update(rm)
    mv.custom_properties = {"k": tag}
    store.update(mv)
    art.uri = f"s3://bucket/{tag}"
    store.update(art)


def _check_converged(stack: Stack, store: SQLiteStore, prefix: str, report: SyncReport) -> None:
    conflicts = [(c.kind, c.fields) for c in list_conflicts(store)]
    assert conflicts == [] and report.remaining == 0, (conflicts, report)
    # The stack is shared by the tests of this module, and a sync also pulls their models.
    remote_part = {k: v for k, v in stack.remote_content().items() if k.startswith(prefix)}
    local_part = {k: v for k, v in content(store).items() if k.startswith(prefix)}
    assert local_part and compare(local_part, remote_part) == (0, 0)
    assert stack.remote_duplicates() == 0


@pytest.mark.parametrize("entity", ENTITIES)
def test_edit_after_lost_create_reply_is_adopted_and_pushed(stack: Stack, entity: str) -> None:
    """An edit after a create whose reply was lost is adopted and pushed, with no conflict."""
    prefix = f"post-{entity}-"
    store = stack.store(prefix)
    try:
        registered = store.register_model(prefix + "m", "s3://bucket/a", version="v1")
        cut = "/artifacts" if entity == "artifacts" else f"/{entity}"
        report = _sync(stack, store, _ReplyLost("POST", cut))
        assert report.stopped and report.remaining == 3 - ENTITIES.index(entity)
        _edit(store, registered, "after the crash")
        _check_converged(stack, store, prefix, _sync(stack, store))
    finally:
        store.close()


@pytest.mark.parametrize("entity", ENTITIES)
def test_edit_after_lost_update_reply_is_pushed(stack: Stack, entity: str) -> None:
    """An edit after an update whose reply was lost is pushed, with no conflict."""
    prefix = f"patch-{entity}-"
    store = stack.store(prefix)
    try:
        registered = store.register_model(prefix + "m", "s3://bucket/a", version="v1")
        assert _sync(stack, store).created == 3
        _edit(store, registered, "one")
        report = _sync(stack, store, _ReplyLost("PATCH", f"/{entity}/"))
        assert report.stopped and report.remaining == 3 - ENTITIES.index(entity)
        _edit(store, registered, "two")
        _check_converged(stack, store, prefix, _sync(stack, store))
    finally:
        store.close()
