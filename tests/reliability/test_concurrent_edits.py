"""Read-modify-write calls keep concurrent edits: ``ModelRegistry.update`` (so
``ModelRegistryClient.update_model*``) and the archive / restore helpers never write back a
field another process changed after they read it (that would undo an acknowledged edit,
silently).

Each test commits such an edit, from a second connection as another process would, right
after the call's first read transaction ends, and expects it to survive. When the call reads
nothing outside its write transaction, the hook never fires and there is no window to test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from localhub import ModelRegistryClient, SQLiteStore
from localhub.types import ModelVersion, ModelVersionState, RegisteredModel

pytestmark = pytest.mark.own_server  # no server: local concurrent edits

Edit = Callable[[SQLiteStore], None]


def _edit_model(store: SQLiteStore) -> None:
    rm = store.find(RegisteredModel, name="m")
    assert rm is not None
    store.update(replace(rm, description="theirs"))


def _edit_version(store: SQLiteStore) -> None:
    _, mv = store.find_version("m", "1")
    assert mv is not None
    store.update(replace(mv, custom_properties={**(mv.custom_properties or {}), "k": "theirs"}))


@pytest.fixture
def client(tmp_path: Path) -> ModelRegistryClient:
    client = ModelRegistryClient("http://127.0.0.1:9", path=tmp_path / "r.db", author="a")
    client.register_model("m", "s3://b/m/1", version="1", owner="a", metadata={"k": "base"})
    return client


def _after_first_read(client: ModelRegistryClient, monkeypatch: pytest.MonkeyPatch,
                      edit: Edit) -> list[bool]:
    """Make ``edit`` run on another connection when the client's next read ends."""
    other = SQLiteStore(client.store.path)
    db = client.store.db
    original = db.read
    fired: list[bool] = []

    @contextmanager
    def read() -> Iterator[Any]:
        with original() as conn:
            yield conn
        # Only a read outside any write transaction leaves a window (inside one, another
        # process cannot write until the call commits).
        if not fired and not conn.in_transaction:
            fired.append(True)
            edit(other)

    monkeypatch.setattr(db, "read", read)
    return fired


def test_archive_model_keeps_a_concurrent_description(
        client: ModelRegistryClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """archive_model keeps a description another process committed during the call."""
    fired = _after_first_read(client, monkeypatch, _edit_model)
    client.archive_model("m")
    monkeypatch.undo()
    rm = client.get_model("m")
    assert rm.state.value == "ARCHIVED"
    if fired:
        assert rm.description == "theirs", "archive_model undid a concurrent edit"


def test_archive_model_version_keeps_concurrent_properties(
        client: ModelRegistryClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """archive_model_version keeps custom properties another process committed during the call."""
    fired = _after_first_read(client, monkeypatch, _edit_version)
    client.archive_model_version("m", "1")
    monkeypatch.undo()
    mv = client.get_model_version("m", "1")
    assert mv.state == ModelVersionState.ARCHIVED
    if fired:
        assert mv.custom_properties == {"k": "theirs"}, \
            "archive_model_version undid a concurrent edit"


def test_update_model_version_keeps_fields_it_was_not_given(
        client: ModelRegistryClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """None fields keep their stored values, also those another process stores while the update
    runs."""
    mv = client.get_model_version("m", "1")
    fired = _after_first_read(client, monkeypatch, _edit_version)
    client.update_model_version(ModelVersion(id=mv.id, name="1", description="mine"))
    monkeypatch.undo()
    mv = client.get_model_version("m", "1")
    assert mv.description == "mine"
    if fired:
        assert mv.custom_properties == {"k": "theirs"}, \
            "update_model_version undid a concurrent edit of a field it was not given"
