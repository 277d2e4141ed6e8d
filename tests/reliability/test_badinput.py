"""Short run of the bad-input soak (``tests/soak/soak_badinput.py``): hypothesis over the
Python API and the CLI, schemathesis and malformed requests over a real ``localhub serve``."""

from __future__ import annotations

from pathlib import Path

import pytest

from localhub import ModelRegistryClient

from tests.soak.soak_badinput import (
    delta,
    mentions,
    run,
    snapshot,
    unclear_reason,
    unexpected,
)
from tests.support.official_spec import SPEC

pytestmark = pytest.mark.own_server  # checks our serve's own answers to bad input


@pytest.mark.slow
def test_bad_input_short_run() -> None:
    tally = run(api_examples=200, cli_examples=100, processes=3, serve_examples=1,
                slow_remotes=1, seed=11)
    assert tally.ok, tally.line() + "\n" + "\n".join(tally.notes)
    parts = tally.parts
    # Every part ran, and each saw both accepted and refused input.
    assert parts["api"]["runs"] == 200
    assert parts["api"]["accepted"] >= 20 and parts["api"]["rejected"] >= 100, parts["api"]
    assert parts["cli"]["runs"] == 100 and parts["cli"]["accepted"] >= 1, parts["cli"]
    assert parts["cli"].get("exit1", 0) >= 20 and parts["cli"].get("exit2", 0) >= 5, parts["cli"]
    assert parts["cli-process"]["runs"] == 3, parts["cli-process"]
    malformed = parts["serve-malformed"]
    assert malformed["runs"] >= 130 and malformed["4xx"] >= 120, malformed
    if SPEC.exists():
        assert parts["serve"].get("2xx", 0) >= 5 and parts["serve"].get("4xx", 0) >= 20, \
            parts["serve"]
    assert tally.crashes == tally.unclear == 0


def test_checks_see_changes_and_unclear_messages(tmp_path: Path) -> None:
    """The soak's own checks are not vacuous: a write shows in the snapshot delta, a second
    row is reported as unexpected, and raw internals or field-less messages are unclear."""
    client = ModelRegistryClient("http://127.0.0.1:9", path=tmp_path / "r.db", author="t")
    client.register_model("m", "s3://b/1", version="1")
    db = tmp_path / "r.db"
    before = snapshot(db)
    client.register_model("m", "s3://b/2", version="2")
    d = delta(before, snapshot(db))
    assert not d.empty
    # The meta row notes the author filled in from the login name (not the user's choice).
    assert unexpected(d, add={"contexts": 1, "artifacts": 1, "outbox": 2, "meta": 1}) is None
    assert unexpected(d, add={"contexts": 1, "artifacts": 1}) is not None
    client.store.close()
    assert unclear_reason("", ["name"]) == "empty message"
    assert unclear_reason("invalid literal for int() with base 10: '²'", ["²"])
    assert unclear_reason("something went wrong", ["name", "x1"])
    assert unclear_reason("invalid ModelVersion.name: must not be empty", ["name"]) is None
    assert mentions("invalid RegisteredModel.custom_properties: bad", ["customProperties"])
