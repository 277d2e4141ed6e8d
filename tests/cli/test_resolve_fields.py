"""``localhub conflicts`` in words and ``localhub resolve --field`` (issue #14 item 7),
against a real ``localhub serve``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import Invoke, make_conflict
from tests.support.servers import Server

SENTENCE = ("model m: you changed auc and description; the remote changed them too since the "
            "last sync")


def _two_fields(invoke: Invoke, server: Server, tmp_path: Path) -> int:
    return make_conflict(invoke, server, tmp_path,
                         local=("--description", "mine", "--meta", "auc=0.9"),
                         remote=("--description", "theirs", "--meta", "auc=0.8"))


def test_field_by_field_description_ours_auc_theirs(invoke: Invoke, server: Server,
                                                    tmp_path: Path) -> None:
    """--field description=ours --field auc=theirs: after sync the remote has our description
    and keeps its auc; locally auc is theirs."""
    cid = _two_fields(invoke, server, tmp_path)
    result = invoke("resolve", str(cid), "--field", "description=ours", "--field", "auc=theirs")
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"resolved conflict #{cid}: decided field by field: auc=theirs, "
                             "description=ours (ours and values queued for the next sync)\n")
    assert invoke("sync", "--remote", server.url).exit_code == 0
    remote = server.model("m")
    assert remote["description"] == "mine"
    assert remote["customProperties"]["auc"] == {"metadataType": "MetadataDoubleValue",
                                                 "double_value": 0.8}
    local = json.loads(invoke("show", "m", "--json").stdout)["model"]
    assert (local["description"], local["custom_properties"]) == ("mine", {"auc": 0.8})


def test_field_values_are_typed_and_value_prefix_is_literal(invoke: Invoke, server: Server,
                                                            tmp_path: Path) -> None:
    """A value is typed like --meta for a property; value:ours is the text "ours"."""
    cid = _two_fields(invoke, server, tmp_path)
    result = invoke("resolve", str(cid), "--field", "auc=3", "--field",
                    "description=value:ours")
    assert result.exit_code == 0, result.output
    assert invoke("sync", "--remote", server.url).exit_code == 0
    remote = server.model("m")
    assert remote["description"] == "ours"
    assert remote["customProperties"]["auc"] == {"metadataType": "MetadataIntValue",
                                                 "int_value": "3"}


def test_every_field_needs_a_choice(invoke: Invoke, server: Server, tmp_path: Path) -> None:
    """A missing field is a usage error listing it and pointing to --ours / --theirs; an
    unknown one names the conflict's fields; mixing with --ours is refused."""
    cid = _two_fields(invoke, server, tmp_path)
    missing = invoke("resolve", str(cid), "--field", "description=ours")
    assert missing.exit_code == 2
    assert "missing: auc" in missing.stderr and "--ours or --theirs" in missing.stderr
    unknown = invoke("resolve", str(cid), "--field", "owner=ours", "--field", "auc=ours")
    assert unknown.exit_code == 2
    assert "is about custom_properties.auc, description, not 'owner'" in unknown.stderr
    both = invoke("resolve", str(cid), "--ours", "--field", "auc=ours")
    assert both.exit_code == 2 and "exactly one of" in both.stderr
    twice = invoke("resolve", str(cid), "--field", "auc=ours", "--field", "auc=theirs")
    assert twice.exit_code == 2 and "given twice" in twice.stderr
    assert json.loads(invoke("conflicts", "--json").stdout)[0]["open"]


def test_conflicts_say_what_happened(invoke: Invoke, server: Server, tmp_path: Path) -> None:
    """The sentence is in the listing, the detail (with the --field hint) and --json."""
    cid = _two_fields(invoke, server, tmp_path)
    listing = invoke("conflicts").stdout
    assert f"#{cid} {SENTENCE}" in listing.splitlines()
    detail = invoke("conflicts", str(cid)).stdout
    assert f"  {SENTENCE}" in detail.splitlines()
    assert f"localhub resolve {cid} --ours | --theirs | --field NAME=ours|theirs|VALUE" in detail
    assert json.loads(invoke("conflicts", "--json").stdout)[0]["summary"] == SENTENCE
    assert json.loads(invoke("conflicts", str(cid), "--json").stdout)["summary"] == SENTENCE


def test_all_fields_one_side_is_ours(invoke: Invoke, server: Server, tmp_path: Path) -> None:
    """Every field ours is --ours: recorded as ours, pushed over the remote."""
    cid = _two_fields(invoke, server, tmp_path)
    result = invoke("resolve", str(cid), "--field", "description=ours", "--field", "auc=ours",
                    "--json")
    assert json.loads(result.stdout)["resolution"] == "ours"
    assert invoke("sync", "--remote", server.url).exit_code == 0
    remote = server.model("m")
    assert remote["description"] == "mine"
    assert remote["customProperties"]["auc"]["double_value"] == 0.9
