"""The registry commands on real temp databases, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from localhub import ModelRegistryClient
from localhub.cli.main import main


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A database path in the test's folder."""
    return tmp_path / "r.db"


def run(db: Path, *args: str) -> tuple[int, str, str]:
    """Invoke `localhub --db DB ARGS` and return exit code, stdout, stderr."""
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_register_then_models_json(db: Path) -> None:
    """register writes model, version and artifact; models --json lists it."""
    code, out, _ = run(db, "register", "clf", "s3://b/clf", "--version", "1.0.0",
                       "--format", "onnx", "--meta", "epochs=10", "--meta", "lr=0.1",
                       "--meta", "ok=true", "--meta", "tag='10'", "--owner", "ann")
    assert code == 0 and "registered model clf, version 1.0.0" in out
    code, out, _ = run(db, "models", "--json")
    data = json.loads(out)
    assert [m["name"] for m in data] == ["clf"] and data[0]["owner"] == "ann"
    version = ModelRegistryClient("", path=db).get_model_version("clf", "1.0.0")
    assert version.custom_properties == {"epochs": 10, "lr": 0.1, "ok": True, "tag": "10"}


def test_default_database_is_under_localhub_home(isolated_home: Path) -> None:
    """Without --db the file goes to $LOCALHUB_HOME/registry.db."""
    result = CliRunner().invoke(main, ["register", "m", "s3://b/m", "--version", "1"])
    assert result.exit_code == 0, result.output
    assert (isolated_home / "registry.db").exists()


def test_versions_show_update_archive_restore(db: Path) -> None:
    """The edit commands change what show prints and queue outbox rows."""
    run(db, "register", "clf", "s3://b/1", "--version", "1")
    code, _, _ = run(db, "update", "clf", "1", "--description", "good", "--meta", "auc=0.9",
                     "--uri", "s3://b/1b")
    assert code == 0
    data = json.loads(run(db, "show", "clf", "1", "--json")[1])
    assert data["version"]["description"] == "good"
    assert data["version"]["custom_properties"] == {"auc": 0.9}
    assert data["artifact"]["uri"] == "s3://b/1b"
    run(db, "update", "clf", "1", "--unset-meta", "auc")
    assert json.loads(run(db, "show", "clf", "1", "--json")[1])["version"][
        "custom_properties"] is None
    assert run(db, "archive", "clf", "1")[0] == 0
    assert json.loads(run(db, "versions", "clf", "--json")[1]) == []
    archived = json.loads(run(db, "versions", "clf", "--archived", "--json")[1])
    assert [v["state"] for v in archived] == ["ARCHIVED"]
    assert run(db, "restore", "clf", "1")[0] == 0
    assert [v["name"] for v in json.loads(run(db, "versions", "clf", "--json")[1])] == ["1"]
    ops = [(c["op"], c["entity"]) for c in json.loads(run(db, "pending", "--json")[1])]
    assert ops[:3] == [("create", "registered-model"), ("create", "model-version"),
                       ("create", "model-artifact")]
    assert len(ops) == 8  # 3 creates, version+artifact edit, unset, archive, restore


def test_models_filter_and_order(db: Path) -> None:
    """--filter takes the filterQuery grammar; --order/--desc order the listing."""
    for name in ("a-one", "b-two", "a-three"):
        run(db, "register", name, f"s3://b/{name}", "--version", "1")
    out = run(db, "models", "--filter", "name LIKE 'a-%'", "--desc", "--json")[1]
    assert [m["name"] for m in json.loads(out)] == ["a-three", "a-one"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["show", "nope"], 1, "no model named 'nope'"),
    (["show", "m", "9"], 1, "has no version '9'"),
    (["register", "m", "s3://x", "--version", "1"], 1, "model 'm' already has version '1'"),
    (["register", "m", " ", "--version", "2"], 1, "invalid ModelArtifact.uri"),
    (["register", "m", "s3://x", "--version", "3", "--meta", "n=10000000000"], 1,
     "outside the registry's range"),
    (["register", "m", "s3://x", "--version", "3", "--meta", "novalue"], 2, "KEY=VALUE"),
    (["models", "--filter", "name = "], 1, "filterQuery: expected a value"),
    (["update", "m", "--uri", "s3://y"], 2, "give VERSION"),
    (["register", "m", "s3://x"], 2, "--version"),
])
def test_errors_are_one_line_with_exit_code(db: Path, args: list[str], code: int,
                                            message: str) -> None:
    """Each failure prints what is wrong on stderr and exits with the documented code."""
    run(db, "register", "m", "s3://b/m", "--version", "1")
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == code
    assert message in result.stderr
    if code == 1:
        assert len(result.stderr.strip().splitlines()) == 1


def test_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    """A file that is not a database gives one line with advice and exit 1."""
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 100)
    result = CliRunner().invoke(main, ["--db", str(bad), "models"])
    assert result.exit_code == 1
    assert "is not a usable localhub database" in result.stderr
    assert bad.read_bytes() == b"not a database at all" * 100


def test_debug_prints_traceback(db: Path) -> None:
    """--debug adds the traceback to the one-line error."""
    result = CliRunner().invoke(main, ["--db", str(db), "--debug", "show", "nope"])
    assert result.exit_code == 1 and "Traceback" in result.stderr
