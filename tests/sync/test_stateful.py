"""Hypothesis stateful test: random offline edits on two stores and syncs in random order
against one real ``localhub serve`` (a fresh one per example). Invariant after quiescence:
both stores equal the remote, except fields listed in open conflicts (and entities whose
create is blocked by a listed conflict); every remote model and version exists in both."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import SyncEngine, list_conflicts
from localhub.types import ModelVersion, ModelVersionState, RegisteredModel

from tests.support.processes import start_serve, stop
from tests.support.sync_checks import check_converged as _check

STORES = st.sampled_from(["a", "b"])
MODELS = st.sampled_from(["m0", "m1", "m2"])
VERSIONS = st.sampled_from(["v0", "v1"])
VALUES = st.sampled_from(["x", "y", "z"])


def _model_of(store: SQLiteStore, uid: str) -> str | None:
    with store.db.read() as conn:
        row = conn.execute("SELECT c.kind, c.name, p.name FROM contexts c LEFT JOIN contexts p "
                           "ON p.id = c.parent_id WHERE c.uid = ?", (uid,)).fetchone()
    if row is None:
        return None
    return str(row[1]) if row[0] == "registered-model" else str(row[2])


class _Env:
    """What ``_check`` needs from the test environment."""

    def __init__(self, url: str) -> None:
        self.server = type("S", (), {"url": url})()


class TwoStoresOneRemote(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="lh-stateful-"))
        self.proc, port = start_serve(self.tmp, self.tmp / "remote.db", self.tmp / "serve.log")
        self.url = f"http://127.0.0.1:{port}"
        self.stores = {n: SQLiteStore(self.tmp / f"{n}.db") for n in "ab"}
        self.syncs = 0
        # A shared starting point: m0/v0 known to both stores and the remote, so random edits
        # hit linked entities from the first step.
        self.stores["a"].register_model("m0", "s3://m0/x", version="v0")
        self._sync("a")
        self._sync("b")

    def _sync(self, name: str, on_conflict: str = "manual") -> None:
        remote = RemoteRegistry(self.url)
        try:
            report = SyncEngine(self.stores[name], remote, on_conflict=on_conflict,  # type: ignore[arg-type]
                                sleep=lambda _s: None).run()
        finally:
            remote.close()
        assert report.stopped is None and report.set_aside == 0, report
        self.syncs += 1

    @rule(name=STORES, model=MODELS, version=VERSIONS, uri=VALUES)
    def register(self, name: str, model: str, version: str, uri: str) -> None:
        store = self.stores[name]
        rm = store.find(RegisteredModel, name=model)
        if rm is not None and store.find(ModelVersion, name=version, parent_id=rm.id):
            return
        store.register_model(model, f"s3://{model}/{uri}", version=version)

    @rule(name=STORES, model=MODELS, field=st.sampled_from(["description", "owner"]),
          value=VALUES)
    def edit_model(self, name: str, model: str, field: str, value: str) -> None:
        store = self.stores[name]
        rm = store.find(RegisteredModel, name=model)
        if rm is not None:
            setattr(rm, field, f"{name}-{value}")
            store.update(rm)

    @rule(name=STORES, model=MODELS, version=VERSIONS, key=st.sampled_from(["k0", "k1"]),
          value=st.one_of(st.none(), VALUES))
    def edit_property(self, name: str, model: str, version: str, key: str,
                      value: str | None) -> None:
        store = self.stores[name]
        rm = store.find(RegisteredModel, name=model)
        mv = rm and store.find(ModelVersion, name=version, parent_id=rm.id)
        if mv:
            props: dict[str, Any] = dict(mv.custom_properties or {})
            if value is None:
                props.pop(key, None)
            else:
                props[key] = f"{name}-{value}"
            mv.custom_properties = props or None
            store.update(mv)

    @rule(name=STORES, model=MODELS, version=VERSIONS,
          state=st.sampled_from(list(ModelVersionState)))
    def set_state(self, name: str, model: str, version: str, state: ModelVersionState) -> None:
        store = self.stores[name]
        rm = store.find(RegisteredModel, name=model)
        mv = rm and store.find(ModelVersion, name=version, parent_id=rm.id)
        if mv:
            mv.state = state
            store.update(mv)

    @rule(name=STORES, policy=st.sampled_from(["manual", "manual", "ours", "theirs"]))
    def sync(self, name: str, policy: str) -> None:
        self._sync(name, policy)

    @rule(first=STORES)
    def sync_both(self, first: str) -> None:
        for name in (first, "b" if first == "a" else "a"):
            self._sync(name)

    def teardown(self) -> None:
        if not hasattr(self, "proc"):
            return
        try:
            for _ in range(2):  # quiescence
                for name in "ab":
                    self._sync(name)
            env = _Env(self.url)
            for store in self.stores.values():
                _check(env, store)  # type: ignore[arg-type]
            remote = SQLiteStore(self.tmp / "remote.db")
            try:
                remote_models = {m.name for m in remote.list_page(RegisteredModel).items}
                remote_versions = {(str(m.name), str(v.name))
                                   for m in remote.list_page(RegisteredModel).items
                                   for v in remote.list_page(ModelVersion, parent_id=m.id).items}
            finally:
                remote.close()
            for store in self.stores.values():
                local_models = {m.name for m in store.list_page(RegisteredModel).items}
                local_versions = {(str(m.name), str(v.name))
                                  for m in store.list_page(RegisteredModel).items
                                  for v in store.list_page(ModelVersion, parent_id=m.id).items}
                blocked = [c for c in list_conflicts(store)
                           if c.kind in ("create-different", "remote-missing")]
                # A model whose create is blocked by a listed conflict (its name is taken
                # remotely by different content) keeps the remote's copy out, with its
                # versions: pulling them would make a second local model of that name.
                held = {_model_of(store, c.entity_uid) for c in blocked}
                assert remote_models - held <= local_models
                assert {mv for mv in remote_versions if mv[0] not in held} <= local_versions
                if not blocked:
                    assert local_models == remote_models
                    assert local_versions == remote_versions
                assert store.pending() == [] or blocked or list_conflicts(store)
        finally:
            for store in self.stores.values():
                store.close()
            stop(self.proc)
            shutil.rmtree(self.tmp, ignore_errors=True)



TwoStoresOneRemote.TestCase.settings = settings(
    max_examples=12, stateful_step_count=16, deadline=None, database=None,
    suppress_health_check=list(HealthCheck))

test_two_stores_one_remote = pytest.mark.slow(TwoStoresOneRemote.TestCase)
