"""The CLI's view of bad items: a held pulled entity and a set-aside create still give a
JSON report, listed by ``status``; a create in flight cannot be deleted."""

from __future__ import annotations

import json
from pathlib import Path

from localhub.store import SQLiteStore
from localhub.types import RegisteredModel

from tests.support.cli import Invoke
from tests.support.servers import Server, serving


def test_sync_json_prints_the_report_when_a_pulled_entity_is_held(
        invoke: Invoke, server: Server, db: Path) -> None:
    """A remote model the local store refuses (its externalId is another local model's):
    `sync --json` exits 1 with its report, the other model is pulled, `status` says why."""
    server.register("clash", externalId="ext-1")
    server.register("fine")
    store = SQLiteStore(db)
    try:
        store.create(RegisteredModel(name="mine", external_id="ext-1"))
    finally:
        store.close()
    result = invoke("sync", "--remote", server.url, "--pull-only", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert len(report["held"]) == 1 and "'clash'" in report["held"][0]
    assert report["pulled"] >= 3 and report["stopped"] is None
    status = json.loads(invoke("status", "--offline", "--json").stdout)
    assert [h["kind"] for h in status["held"]] == ["registered-model"]
    text = invoke("status", "--offline").stdout
    assert "held (pulled, not applied): 1" in text and "could not be applied" in text


def test_sync_sets_a_failing_create_aside_and_goes_on(invoke: Invoke, tmp_path: Path) -> None:
    """A version the remote answers 500 for on every try is set aside (exit 1, not 4): the
    report names it with the server's message, the other model is created, status lists it."""
    invoke("register", "m", "s3://b/m", "--version", "bad1")
    invoke("register", "n", "s3://b/n", "--version", "v1")
    quirk = "fail=POST:/api/model_registry/v1/model_versions:name=bad*"
    with serving(tmp_path / "q-home", tmp_path / "q.db", tmp_path / "q.log",
                 env={"LOCALHUB_SERVE_QUIRKS": quirk}) as server:
        result = invoke("sync", "--remote", server.url, "--json")
        assert server.model_names() == ["m", "n"]
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert (report["created"], report["set_aside"], report["stopped"]) == (4, 2, None)
    assert any("emulated failure" in e for e in report["errors"])
    status = json.loads(invoke("status", "--offline", "--json").stdout)
    assert sorted(s["entity"] for s in status["set_aside"]) == ["artifact m:bad1/m",
                                                               "version m:bad1"]
