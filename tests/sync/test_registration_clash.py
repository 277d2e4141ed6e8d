"""Two people register the same new model name offline: one resolve and one sync settle it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from localhub.registration import Registration
from localhub.store import SQLiteStore
from localhub.sync import list_conflicts, resolve
from localhub.types import ModelArtifact, ModelVersion, RegisteredModel

from tests.support.cli import run_cli
from tests.support.servers import Server
from tests.support.sync_env import Env


def _remote_registration(env: Env) -> tuple[list[RegisteredModel], list[ModelVersion],
                                             list[ModelArtifact]]:
    remote = SQLiteStore(env.server.db)
    try:
        return (remote.list_page(RegisteredModel).items, remote.list_page(ModelVersion).items,
                remote.list_page(ModelArtifact).items)
    finally:
        remote.close()


def test_a_clash_of_model_version_and_artifact_is_listed_and_settled_in_one_round(
        env: Env) -> None:
    """Owner, description and uri clashes all surface in one sync; one resolve settles them."""
    a, b = env.store("a"), env.store("b")
    Registration("m", "s3://a/m", "v1", owner="ann", version_description="ann's").write(a)
    Registration("m", "s3://b/m", "v1", owner="bob", version_description="bob's").write(b)
    env.sync("a")
    report = env.sync("b")
    assert len(report.open_conflicts) == 3
    group = list_conflicts(b)
    assert [(c.entity_kind, c.fields) for c in group] == [
        ("registered-model", ("owner",)), ("model-version", ("description",)),
        ("model-artifact", ("uri",))]
    resolve(b, group[0].id, "theirs")
    assert list_conflicts(b) == []
    report = env.sync("b")
    assert (report.conflicts, report.remaining) == (0, 0)
    models, versions, artifacts = _remote_registration(env)
    assert [(m.owner, v.description, x.uri) for m, v, x in zip(models, versions, artifacts,
                                                                  strict=True)] == [
        ("ann", "ann's", "s3://a/m")]
    rm = b.find(RegisteredModel, name="m")
    assert rm is not None and rm.owner == "ann"
    assert not b.pending()


def test_ours_on_the_model_pushes_the_whole_registration(env: Env) -> None:
    """``ours`` on the model's conflict pushes our version and artifact values too."""
    a, b = env.store("a"), env.store("b")
    Registration("m", "s3://a/m", "v1", owner="ann").write(a)
    Registration("m", "s3://b/m", "v1", owner="bob").write(b)
    env.sync("a")
    # the model (owner) and the artifact (uri)
    assert len(env.sync("b").open_conflicts) == 2
    resolve(b, list_conflicts(b)[0].id, "ours")
    report = env.sync("b")
    assert (report.conflicts, report.remaining) == (0, 0)
    models, versions, artifacts = _remote_registration(env)
    assert (len(models), len(versions), len(artifacts)) == (1, 1, 1)
    assert (models[0].owner, artifacts[0].uri) == ("bob", "s3://b/m")


def test_defaults_the_user_never_set_are_adopted_not_a_conflict(env: Env) -> None:
    """An owner and author filled in from the login name adopt the remote's, recorded."""
    a, b = env.store("a"), env.store("b")
    Registration("m", "s3://same/m", "v1").by("ann").write(a)
    Registration("m", "s3://same/m", "v1").by("bob").write(b)
    env.sync("a")
    report = env.sync("b")
    assert (report.conflicts, report.adopted, report.remaining) == (0, 3, 0)
    rm = b.find(RegisteredModel, name="m")
    assert rm is not None and rm.owner == "ann"
    mv = b.find(ModelVersion, name="v1", parent_id=rm.id)
    assert mv is not None and mv.author == "ann"
    with sqlite3.connect(env.tmp_path / "b.db") as conn:
        recorded = [json.loads(v) for (v,) in conn.execute(
            "SELECT value FROM meta WHERE key LIKE 'adopted:%' ORDER BY value")]
    assert recorded == [{"author": {"ours": "bob", "theirs": "ann"}},
                        {"owner": {"ours": "bob", "theirs": "ann"}}]


def test_an_owner_the_user_set_is_a_conflict(env: Env) -> None:
    """An explicit owner differing from the remote's is a conflict, not adopted."""
    a, b = env.store("a"), env.store("b")
    Registration("m", "s3://same/m", "v1").by("ann").write(a)
    Registration("m", "s3://same/m", "v1", owner="bob").by("bob").write(b)
    env.sync("a")
    report = env.sync("b")
    assert len(report.open_conflicts) == 1
    (c,) = list_conflicts(b)
    assert (c.entity_kind, c.fields) == ("registered-model", ("owner",))


def test_cli_one_resolve_and_one_sync_settle_a_registration_clash(
        tmp_path: Path, server: Server) -> None:
    """Through the CLI: sync lists the clash, resolve N --theirs and one sync settle it."""
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    for db, who in ((a, "ann"), (b, "bob")):
        result = run_cli(db, "register", "m", f"s3://{who}/m", "--version", "v1",
                         "--owner", who, "--description", f"by {who}")
        assert result.exit_code == 0, result.output
    assert run_cli(a, "sync", "--remote", server.url).exit_code == 0
    result = run_cli(b, "sync", "--remote", server.url, "--json")
    assert result.exit_code == 3, result.output
    listed = json.loads(run_cli(b, "conflicts", "--json").stdout)
    assert len(listed) == 3
    first = min(c["id"] for c in listed)
    result = run_cli(b, "resolve", str(first), "--theirs")
    assert result.exit_code == 0, result.output
    assert json.loads(run_cli(b, "conflicts", "--json").stdout) == []
    result = run_cli(b, "sync", "--remote", server.url)
    assert result.exit_code == 0, result.output
    assert server.model("m")["owner"] == "ann"
    assert json.loads(run_cli(b, "conflicts", "--json").stdout) == []
