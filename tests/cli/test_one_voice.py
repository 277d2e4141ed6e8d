"""One voice: every CLI failure is one `error: <what happened>; <what to do>` line on stderr with
an exit code from docs/cli.md's table, each condition worded once."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localhub import config as cfg
from localhub.cli.context import Settings
from localhub.cli.sync_loop import SyncLoop
from localhub.errors import FilterQueryError, RemoteUnreachableError
from localhub.registry import ModelRegistry
from localhub.rest_client import RemoteRegistry
from localhub.sync_run import SyncOutcome, unreachable_message
from localhub.types import RegisteredModel

from tests.support.cli import Invoke
from tests.support.processes import free_port
from tests.support.servers import TOKEN, Server, serving
from tests.support.sync_loop import Loop, register_offline, until

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def documented_codes() -> set[int]:
    """The exit codes of the table in docs/cli.md."""
    return {int(code) for code in re.findall(r"^\| (\d+) \|", DOCS.read_text(), re.M)}


def assert_one_voice(stderr: str, code: int) -> str:
    """stderr ends with its one `error: <what>; <what to do>` line (before it at most a notice
    such as a first sync's), and ``code`` is documented; returns the error line."""
    lines = stderr.splitlines()
    assert 1 <= len(lines) <= 2, stderr
    assert [line.startswith("error: ") for line in lines][-1:] == [True], stderr
    assert sum(line.startswith("error: ") for line in lines) == 1, stderr
    assert "; " in lines[-1], lines[-1]
    assert "Traceback" not in stderr and "HTTPConnectionPool" not in stderr
    assert code in documented_codes() - {0}, code
    return lines[-1]


def _model(invoke: Invoke) -> None:
    assert invoke("register", "m", "s3://b/m/1", "--version", "1").exit_code == 0


def _none(invoke: Invoke, tmp_path: Path) -> list[str]:
    return []


def _with_model(invoke: Invoke, tmp_path: Path) -> list[str]:
    _model(invoke)
    return []


def _closed(invoke: Invoke, tmp_path: Path) -> list[str]:
    _model(invoke)
    return ["--remote", f"http://127.0.0.1:{free_port()}"]


def _junk(name: str, text: str) -> Callable[[Invoke, Path], list[str]]:
    def make(invoke: Invoke, tmp_path: Path) -> list[str]:
        (tmp_path / name).write_text(text)
        return [str(tmp_path / name)]
    return make


#: (id, setup -> extra args, command, exit code, text the line must hold)
CASES: list[tuple[str, Callable[[Invoke, Path], list[str]], list[str], int, str]] = [
    ("model missing", _with_model, ["show", "nope"], 1,
     "no model named 'nope'; see `localhub models`"),
    ("model missing, versions", _with_model, ["versions", "nope"], 1,
     "no model named 'nope'; see `localhub models`"),
    ("model missing, kserve", _with_model, ["kserve", "nope", "1"], 1,
     "no model named 'nope'; see `localhub models`"),
    ("model missing, export", lambda i, p: [*_with_model(i, p), str(p / "b.json")],
     ["export", "--model", "nope"], 1, "no model named 'nope'; see `localhub models`"),
    ("version missing", _with_model, ["show", "m", "9"], 1,
     "model 'm' has no version '9'; see `localhub versions m`"),
    ("version missing, kserve", _with_model, ["kserve", "m", "9"], 1,
     "model 'm' has no version '9'; see `localhub versions m`"),
    ("duplicate version", _with_model,
     ["register", "m", "s3://b/other", "--version", "1"], 1,
     "model 'm' already has version '1'"),
    ("filter unquoted", _with_model, ["models", "--filter", "name = foo"], 1,
     "quote a string value: name = 'foo'"),
    ("filter incomplete", _with_model, ["models", "--filter", "name ="],
     1, "filterQuery: expected a value"),
    ("empty name", _none, ["register", " ", "s3://b", "--version", "1"], 1,
     "must not be empty"),
    ("unknown remote", _none, ["sync", "--remote", "nosuch"], 1,
     "no remote named 'nosuch'"),
    ("damaged bundle", _junk("bad.json", "junk"), ["import"], 1, "not a localhub bundle"),
    ("unreachable, push", _closed, ["sync"], 4,
     "is unreachable (connection refused); changes are kept"),
    ("unreachable, pull", _closed, ["sync", "--pull-only"], 4,
     "is unreachable (connection refused); changes are kept"),
]


@pytest.mark.parametrize("setup, args, code, text", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_failure_is_one_error_line_with_a_hint(
        invoke: Invoke, tmp_path: Path, setup: Callable[[Invoke, Path], list[str]],
        args: list[str], code: int, text: str) -> None:
    """Each failure prints one `error: ...; ...` line holding its one wording, and exits
    with its documented code."""
    result = invoke(*args, *setup(invoke, tmp_path))
    assert result.exit_code == code, result.output
    assert text in assert_one_voice(result.stderr, code)


def test_a_missing_database_and_a_damaged_one_are_one_line(tmp_path: Path) -> None:
    """A --db that does not exist, or is not a database, is one error line with a hint."""
    from tests.support.cli import run_cli

    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 10)
    for db, text in ((tmp_path / "none.db", "no database at"),
                     (tmp_path / "junk.db", "is not a usable localhub database")):
        result = run_cli(db, "models")
        assert result.exit_code == 1
        assert text in assert_one_voice(result.stderr, 1)


def test_unreachable_names_host_port_reason_and_the_kept_queue(invoke: Invoke) -> None:
    """A closed port: one line naming 127.0.0.1:PORT, the refusal and the kept changes."""
    _model(invoke)
    port = free_port()
    result = invoke("sync", "--remote", f"http://127.0.0.1:{port}")
    line = assert_one_voice(result.stderr, result.exit_code)
    assert result.exit_code == 4
    assert line == (f"error: 127.0.0.1:{port} is unreachable (connection refused); changes are "
                    "kept in the local queue: run `localhub sync` again when it is reachable")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listening socket that accepts (in its backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_a_remote_that_never_answers_is_reported_as_timed_out(silent_port: int) -> None:
    """A real request to a silent socket times out; its message is one short line."""
    url = f"http://127.0.0.1:{silent_port}"
    remote = RemoteRegistry(url, token="", timeout=(2.0, 0.5))
    with pytest.raises(RemoteUnreachableError) as info:
        remote.list_page(RegisteredModel)
    assert info.value.reason == "timed out"
    line = unreachable_message(cfg.Remote(name=url, url=url), info.value.reason)
    assert line.startswith(f"127.0.0.1:{silent_port} is unreachable (timed out); changes are "
                           "kept"), line
    assert "\n" not in line and len(line) < 160


def test_a_name_that_does_not_resolve_is_a_dns_failure(invoke: Invoke) -> None:
    """A host name that does not resolve (.invalid never does) says DNS lookup failed."""
    result = invoke("sync", "--pull-only", "--remote", "http://no-such-host.invalid:8080")
    assert result.exit_code == 4
    assert "no-such-host.invalid:8080 is unreachable (DNS lookup failed); changes are kept" \
        in assert_one_voice(result.stderr, 4)


# -- 401 --------------------------------------------------------------------------------------


@pytest.fixture
def token_server(tmp_path: Path) -> Iterator[Server]:
    """A real `localhub serve --token-env` requiring TOKEN."""
    with serving(tmp_path / "srv", tmp_path / "remote.db", tmp_path / "serve.log",
                 ["--token-env", "SERVE_TOKEN"], {"SERVE_TOKEN": TOKEN}) as srv:
        yield srv


def test_a_refused_token_names_the_cli_way_to_give_one(invoke: Invoke,
                                                        token_server: Server) -> None:
    """401 without a token, and with a wrong one: one line naming `--token-env` / the
    variable to set, never Python keyword arguments."""
    _model(invoke)
    adhoc = invoke("sync", "--remote", token_server.url)
    line = assert_one_voice(adhoc.stderr, adhoc.exit_code)
    assert adhoc.exit_code == 1
    assert f"127.0.0.1:{token_server.port} refused the token (HTTP 401)" in line
    assert "`localhub remote add NAME URL --token-env VAR`" in line
    invoke("remote", "add", "prod", token_server.url, "--token-env", "REG_TOKEN")
    wrong = invoke("sync", "--remote", "prod", env={"REG_TOKEN": "wrong"})
    line = assert_one_voice(wrong.stderr, wrong.exit_code)
    assert "set $REG_TOKEN to a valid token" in line
    for text in (line, adhoc.stderr):
        assert "user_token" not in text and "token=" not in text and "wrong" not in text
    assert invoke("sync", "--remote", "prod", env={"REG_TOKEN": TOKEN}).exit_code == 0


# -- filterQuery ------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(word=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda w: w.upper() not in {"AND", "OR", "LIKE", "ILIKE", "IN", "TRUE", "FALSE"}))
def test_an_unquoted_string_in_python_filter_query_suggests_quoting(word: str) -> None:
    """filter_query `name = WORD` raises FilterQueryError suggesting `name = 'WORD'`."""
    registry = ModelRegistry("", author="", path=":memory:")
    with pytest.raises(FilterQueryError) as info:
        list(registry.get_registered_models(filter_query=f"name = {word}"))
    assert str(info.value).endswith(f"; quote a string value: name = '{word}'")


# -- sync --every -----------------------------------------------------------------------------


@pytest.mark.slow
def test_every_prints_the_full_error_once_then_a_short_line_per_retry(
        tmp_path: Path, loops: list[Loop]) -> None:
    """Against a closed port the loop prints the whole unreachable line once, then one short
    `still unreachable ...; retrying in ...` line per retry, attempts counting up."""
    db = tmp_path / "local.db"
    register_offline(db, "queued")
    port = free_port()
    loop = Loop(tmp_path, db, "--every", "300ms", "--remote", f"http://127.0.0.1:{port}")
    loops.append(loop)
    until(lambda: len(loop.lines()) >= 4, 60, "four failed runs", loop.out)
    assert loop.terminate() == 0
    lines = loop.lines()
    assert f"error: 127.0.0.1:{port} is unreachable (connection refused); changes are kept" \
        in lines[0]
    assert sum("changes are kept" in line for line in lines) == 1, lines
    attempts = []
    for line in lines[1:]:
        found = re.search(r" sync still unreachable after (\d+) attempts; retrying in [\d.]+ s$",
                          line)
        assert found, line
        attempts.append(int(found.group(1)))
    assert attempts == list(range(2, 2 + len(attempts)))


def test_every_prints_the_full_text_again_when_the_condition_changes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The loop's log: a repeated error is short, a different error (or a success between)
    is printed in full again."""
    url = "http://127.0.0.1:9"
    loop = SyncLoop(Settings(db=tmp_path / "x.db", quiet=True, debug=False),
                    cfg.Remote(name=url, url=url), every=60, watch=False, push=True,
                    pull=True, on_conflict="manual", models=(), as_json=False)
    refused = unreachable_message(loop.remote, "connection refused")
    timed_out = unreachable_message(loop.remote, "timed out")
    for failures, error in enumerate([refused, refused, timed_out, timed_out, None, refused],
                                     start=1):
        loop.failures = failures if error else 0
        loop._log("sync", SyncOutcome(None, 4 if error else 0, error), 2.0)
    lines = capsys.readouterr().out.splitlines()
    full = ["refused" in x for x in lines], ["timed out" in x for x in lines]
    assert full == ([True, False, False, False, False, True],
                    [False, False, True, False, False, False]), lines
    assert "still unreachable after 2 attempts; retrying in 2 s" in lines[1]
    assert "still unreachable after 4 attempts" in lines[3]


def test_library_errors_of_one_condition_read_alike_in_the_cli(tmp_path: Path) -> None:
    """The Python API's official-client texts (`Version 1 already exists`, `Model m does not
    exist`, `... not found`) become the CLI's one wording, naming the model."""
    from localhub.cli.main import _message
    from localhub.client import ModelRegistryClient
    from localhub.errors import DuplicateError, LocalHubError

    client = ModelRegistryClient("", author="t", path=tmp_path / "r.db")
    client.register_model("m", "s3://b/m", version="1")
    raised: list[LocalHubError] = []
    for call in (lambda: client.register_model("m", "s3://b/other", version="1"),
                 lambda: client.get_model_version("nope", "1"),
                 lambda: client.get_model_version("m", "9"),
                 lambda: client.require_model("nope")):
        try:
            call()
        except LocalHubError as exc:
            raised.append(exc)
    assert isinstance(raised[0], DuplicateError) and str(raised[0]) == "Version 1 already exists"
    assert [_message(exc) for exc in raised] == [
        "model 'm' already has version '1'; give another --version, or change its URI with "
        "`localhub update m 1 --uri URI`",
        "no model named 'nope'; see `localhub models`",
        "model 'm' has no version '9'; see `localhub versions m`",
        "no model named 'nope'; see `localhub models`",
    ]
