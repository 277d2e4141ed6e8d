"""`localhub show` reports each entity's sync state: queued changes, remote ids, conflicts."""

from __future__ import annotations

import json

from tests.support.cli import Invoke
from tests.support.servers import Server


def test_show_before_and_after_sync(invoke: Invoke, server: Server) -> None:
    """Before sync: pending changes and no remote ids; after: nothing pending, remote ids."""
    assert invoke("register", "m", "s3://b/m", "--version", "1").exit_code == 0
    before = json.loads(invoke("show", "m", "1", "--json").stdout)["sync"]
    assert before["version"]["pending"] == 1
    assert before["version"]["pending_fields"] == ["author", "name", "state"]
    assert before["model"]["remote_ids"] == {}
    assert invoke("sync", "--remote", server.url).exit_code == 0
    after = json.loads(invoke("show", "m", "1", "--json").stdout)["sync"]
    remote_model = server.model("m")
    assert after["model"]["remote_ids"] == {server.url: remote_model["id"]}
    assert set(after) == {"model", "version", "artifact"}
    assert all(state["pending"] == 0 and state["conflicts_open"] == 0
               for state in after.values())
    text = invoke("show", "m", "1").stdout
    assert "sync state of the version" in text and f"{server.url}=" in text


def test_show_counts_a_local_edit(invoke: Invoke) -> None:
    """An update queues a change that show lists by field."""
    invoke("register", "m", "s3://b/m", "--version", "1")
    invoke("update", "m", "--description", "d")
    state = json.loads(invoke("show", "m", "--json").stdout)["sync"]["model"]
    assert state["pending"] == 2 and "description" in state["pending_fields"]
    assert state["origin"] == "local"
