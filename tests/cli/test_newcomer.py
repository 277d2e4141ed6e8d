"""The CLI as a newcomer meets it: defaults, typos, messages and reading (no network)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localhub import ModelRegistryClient
from localhub.cli.main import main
from localhub.doctor import check_database
from localhub.urls import normalize_remote_url

from tests.support.cli import Invoke


def _run(*args: str, env: dict[str, str] | None = None, color: bool = False) -> Result:
    return CliRunner().invoke(main, list(args), env=env, color=color, catch_exceptions=False)


# -- a missing database -------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["models"], ["versions", "m"], ["show", "m"], ["pending"],
                                  ["status", "--offline"], ["conflicts"], ["log"],
                                  ["update", "m", "--description", "x"], ["archive", "m"],
                                  ["delete", "m"]])
def test_reading_a_missing_database_says_so_and_creates_nothing(tmp_path: Path,
                                                                args: list[str]) -> None:
    """Commands that need an existing database exit 1 naming the path, creating no file."""
    db = tmp_path / "typo" / "dir" / "registry.db"
    result = _run("--db", str(db), *args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: no database at {db}; check --db")
    assert not (tmp_path / "typo").exists()


def test_register_creates_the_database_and_its_folders(tmp_path: Path) -> None:
    """A writing command creates the missing folders and the database."""
    db = tmp_path / "new" / "dir" / "registry.db"
    assert _run("--db", str(db), "register", "m", "s3://b/m", "--version", "1").exit_code == 0
    assert db.exists()
    assert _run("--db", str(db), "models").exit_code == 0


def test_doctor_agrees_with_register_about_a_missing_folder(tmp_path: Path) -> None:
    """A missing folder that register would create is not a doctor failure."""
    db = tmp_path / "new" / "dir" / "registry.db"
    checks = {c.name: c for c in check_database(db)}
    assert checks["database.writable"].status == "OK"
    assert "does not exist yet" in checks["database.writable"].message
    assert not (tmp_path / "new").exists()


# -- register, update, delete -------------------------------------------------------------------


def test_register_confirmation_names_model_and_version(invoke: Invoke) -> None:
    """The confirmation names the model and version, with no ids that read like versions."""
    result = invoke("register", "fraud", "s3://b/f/1", "--version", "3.0.0")
    assert result.exit_code == 0
    assert result.stdout == ("registered model fraud, version 3.0.0 -> s3://b/f/1 "
                             "(queued for sync)\n")


def test_register_is_rerunnable_and_refuses_another_uri(invoke: Invoke) -> None:
    """The same version at the same URI again changes nothing; at another URI it is exit 1."""
    args = ("register", "fraud", "s3://b/f/1", "--version", "1", "--format", "onnx")
    assert invoke(*args).exit_code == 0
    pending = invoke("pending", "--json").stdout
    again = invoke(*args)
    assert again.exit_code == 0
    assert "already registered at s3://b/f/1; nothing changed" in again.stdout
    assert invoke("pending", "--json").stdout == pending
    other = invoke("register", "fraud", "s3://b/f/2", "--version", "1")
    assert other.exit_code == 1
    assert other.stderr.startswith("error: model 'fraud' already has version '1' at s3://b/f/1;")


def test_register_warns_when_the_uri_is_a_path(invoke: Invoke) -> None:
    """A local path is registered with a warning that suggests the file:// URI."""
    result = invoke("register", "m", "/local/path", "--version", "1")
    assert result.exit_code == 0
    assert ("warning: '/local/path' is not a URI; did you mean file:///local/path?"
            in result.stderr)
    assert "warning" not in invoke("register", "n", "s3://b/x", "--version", "1").stderr


@pytest.mark.parametrize("args", [["--description", "same"], ["--unset-meta", "absent"], []])
def test_update_with_nothing_to_change_queues_nothing(invoke: Invoke, args: list[str]) -> None:
    """An update that changes nothing says so and leaves the queue as it was."""
    invoke("register", "m", "s3://b/m", "--version", "1", "--description", "same")
    before = invoke("pending", "--json").stdout
    result = invoke("update", "m", "1", *args)
    assert result.exit_code == 0
    assert result.stdout.startswith("nothing changed: m 1")
    assert "queued for sync" not in result.stdout
    assert invoke("pending", "--json").stdout == before
    changed = invoke("update", "m", "1", "--description", "other")
    assert changed.stdout == "updated m 1 (queued for sync)\n"


def test_delete_never_synced_version_and_model(invoke: Invoke) -> None:
    """delete removes a never-synced version, then the model, with their queued changes."""
    invoke("register", "m", "s3://b/m/1", "--version", "1")
    invoke("register", "m", "s3://b/m/2", "--version", "2")
    result = invoke("delete", "m", "1")
    assert (result.exit_code, result.stdout) == (
        0, "deleted version 1 of model m (never synced; nothing to send)\n")
    assert [v["name"] for v in json.loads(invoke("versions", "m", "--json").stdout)] == ["2"]
    assert invoke("delete", "m").stdout.startswith("deleted model m and its 1 version(s)")
    assert json.loads(invoke("pending", "--json").stdout) == []
    missing = invoke("delete", "m")
    assert missing.exit_code == 1 and "no model named 'm'" in missing.stderr


# -- reading ------------------------------------------------------------------------------------


def test_no_color_and_no_color_env_strip_styles(invoke: Invoke, db: Path) -> None:
    """Styles are printed to a colour terminal unless --no-color or NO_COLOR is given."""
    invoke("register", "m", "s3://b/m", "--version", "1")
    assert "\x1b[" in _run("--db", str(db), "show", "m", color=True).stdout
    assert "\x1b[" not in _run("--db", str(db), "--no-color", "show", "m", color=True).stdout
    assert "\x1b[" not in _run("--db", str(db), "show", "m", env={"NO_COLOR": "1"},
                               color=True).stdout


def test_show_prints_local_dates_and_json_keeps_epochs(invoke: Invoke) -> None:
    """show prints dates, not epoch milliseconds; --json keeps the milliseconds."""
    invoke("register", "m", "s3://b/m", "--version", "1")
    text = invoke("show", "m", "1").stdout
    assert re.search(r"  create_time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text)
    assert "since_epoch" not in text
    data = json.loads(invoke("show", "m", "1", "--json").stdout)
    assert data["version"]["create_time_since_epoch"].isdigit()


def test_tables_have_updated_format_and_uri(invoke: Invoke) -> None:
    """models and versions list the update time, format and URI; piped, nothing is cut."""
    uri = "s3://bucket/" + "x" * 150
    invoke("register", "m", uri, "--version", "1", "--format", "onnx")
    models = invoke("models").stdout.splitlines()
    assert models[0].split() == ["ID", "NAME", "OWNER", "STATE", "UPDATED", "LATEST", "FORMAT",
                                 "URI", "DESCRIPTION"]
    assert uri in models[1] and "onnx" in models[1]
    versions = invoke("versions", "m").stdout.splitlines()
    assert versions[0].split() == ["ID", "NAME", "AUTHOR", "STATE", "UPDATED", "FORMAT", "URI",
                                   "DESCRIPTION"]
    assert uri in versions[1]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(width=st.integers(min_value=100, max_value=220))
def test_tables_fit_the_terminal_width(invoke: Invoke, width: int) -> None:
    """With a terminal width, every line of models and versions fits it."""
    if not invoke("models", "--json").stdout.strip("[]\n"):
        invoke("register", "a-rather-long-model-name", "s3://bucket/" + "y" * 200,
               "--version", "1.0.0", "--format", "onnx")
        invoke("update", "a-rather-long-model-name", "--description", "d " * 80)
    for args in (["models"], ["versions", "a-rather-long-model-name"]):
        lines = invoke(*args, env={"COLUMNS": str(width)}).stdout.splitlines()
        assert lines and all(len(line) <= width for line in lines), (width, lines)
        assert "\u2026" in lines[1]


def test_help_summaries_are_whole_sentences() -> None:
    """No command summary in the help lists is cut with '...'."""
    for args in ([], ["remote"]):
        text = _run(*args, "--help", env={"COLUMNS": "80"}).stdout
        commands = text.split("Commands:", 1)[1]
        assert "..." not in commands, commands


def test_log_without_syncs(invoke: Invoke) -> None:
    """log on a database that never synced says so; --json is an empty list."""
    invoke("register", "m", "s3://b/m", "--version", "1")
    assert invoke("log").stdout.startswith("no sync recorded yet")
    assert json.loads(invoke("log", "--json").stdout) == []


# -- remote URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "hint"), [
    ("htp:/oops", ""), ("127.0.0.1:8080", "did you mean http://127.0.0.1:8080?"),
    ("htp://oops", ""), ("http://", "")])
def test_sync_remote_that_is_not_a_url(invoke: Invoke, value: str, hint: str) -> None:
    """A --remote that is neither a configured name nor a URL shows the expected form."""
    invoke("register", "m", "s3://b/m", "--version", "1")
    result = invoke("sync", "--remote", value)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {value!r} is not a URL")
    assert "expected http(s)://host[:port]" in result.stderr and hint in result.stderr
    assert "no remote named" not in result.stderr


def test_unknown_remote_name_still_says_no_remote_named(invoke: Invoke) -> None:
    """A plain word is a remote name: the message points at `localhub remote list`."""
    result = invoke("sync", "--remote", "prod")
    assert result.exit_code == 1
    assert "no remote named 'prod'" in result.stderr


def test_remote_add_strips_the_api_path(invoke: Invoke) -> None:
    """`remote add` stores the server address without a pasted API path."""
    result = invoke("remote", "add", "prod", "https://reg.example.com/api/model_registry/v1/")
    assert result.exit_code == 0, result.output
    listed = json.loads(invoke("remote", "list", "--json").stdout)
    assert listed[0]["url"] == "https://reg.example.com"
    bad = invoke("remote", "add", "oops", "reg.example.com:8080")
    assert bad.exit_code == 1 and "is not a URL; expected http(s)://host[:port]" in bad.stderr


def test_python_client_strips_the_api_path(tmp_path: Path) -> None:
    """ModelRegistryClient(base_url=...) keeps the server address without the API path."""
    client = ModelRegistryClient(base_url="https://reg.example.com/api/model_registry/v1",
                                 author="a", path=tmp_path / "py.db")
    assert client.base_url == "https://reg.example.com"


_HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(scheme=st.sampled_from(["http", "https"]), host=_HOSTS,
       port=st.none() | st.integers(1, 65535), prefix=st.sampled_from(["", "/registry"]),
       suffix=st.sampled_from(["", "/", "/api/model_registry/v1", "/api/model_registry/v1/",
                               "/api/model_registry/v1alpha3", "/API/Model_Registry/v1"]))
def test_api_suffix_normalisation(scheme: str, host: str, port: int | None, prefix: str,
                                  suffix: str) -> None:
    """A URL with a known API path or trailing '/' names the same remote as without."""
    base = f"{scheme}://{host}" + (f":{port}" if port else "") + prefix
    assert normalize_remote_url(base + suffix) == base
    assert normalize_remote_url(normalize_remote_url(base + suffix)) == base


# -- completion ---------------------------------------------------------------------------------


def _complete(args: list[str], incomplete: str) -> list[str]:
    comp = ShellComplete(main, {}, "localhub", "_LOCALHUB_COMPLETE")
    return [item.value for item in comp.get_completions(args, incomplete)]


def test_completion_of_models_versions_and_remotes(invoke: Invoke, db: Path) -> None:
    """Tab completes model names, the versions of the model typed and remote names."""
    invoke("register", "fraud", "s3://b/f/1", "--version", "1.0.0")
    invoke("register", "fraud", "s3://b/f/2", "--version", "1.1.0")
    invoke("register", "forecast", "s3://b/c/1", "--version", "2.0")
    invoke("register", "churn", "s3://b/c/1", "--version", "1")
    invoke("remote", "add", "prod", "https://reg.example.com")
    invoke("remote", "add", "staging", "https://staging.example.com")
    assert _complete(["--db", str(db), "show"], "f") == ["forecast", "fraud"]
    assert _complete(["--db", str(db), "show", "fraud"], "") == ["1.0.0", "1.1.0"]
    assert _complete(["--db", str(db), "archive", "fraud"], "1.1") == ["1.1.0"]
    assert _complete(["--db", str(db), "sync", "--model"], "c") == ["churn"]
    assert _complete(["--db", str(db), "sync", "--remote"], "") == ["prod", "staging"]
    assert _complete(["remote", "set-default"], "st") == ["staging"]


def test_completion_never_creates_a_database(tmp_path: Path) -> None:
    """Completing against a missing database offers nothing and creates no file."""
    db = tmp_path / "nothing.db"
    assert _complete(["--db", str(db), "show"], "") == []
    assert _complete(["--db", str(db), "resolve"], "") == []
    assert not db.exists()
