"""`localhub sync`, `status`, `conflicts` and `resolve` against a real `localhub serve`."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from localhub.cli.sync_loop import backoff_delay, parse_duration
from localhub.store import SQLiteStore
from localhub.sync.lock import SyncLock

from tests.support.cli import Invoke
from tests.support.cli import make_conflict as _conflict
from tests.support.cli import run_cli as _run
from tests.support.processes import free_port
from tests.support.servers import Server

# -- sync ---------------------------------------------------------------------------------------


def test_sync_pushes_and_prints_a_summary(invoke: Invoke, server: Server) -> None:
    """An offline registration reaches the remote; the summary counts it; exit 0."""
    invoke("register", "fraud", "s3://b/fraud/1", "--version", "1.0")
    result = invoke("sync", "--remote", server.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"synced with {server.url}: created 3, adopted 0, updated 0")
    assert "remaining 0" in result.stdout
    assert server.model_names() == ["fraud"]
    assert invoke("pending", "--json").stdout.strip() == "[]"


def test_sync_json_report_and_configured_remote(invoke: Invoke, server: Server) -> None:
    """--json prints the report's stable keys; the default remote of config.toml is used."""
    assert invoke("remote", "add", "lab", server.url).exit_code == 0
    invoke("register", "a", "s3://b/a", "--version", "1")
    result = invoke("sync", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert {"created", "adopted", "updated", "pulled", "conflicts", "set_aside", "remaining",
            "open_conflicts", "stopped", "errors"} <= set(report)
    assert (report["created"], report["remaining"], report["open_conflicts"]) == (3, 0, [])


def test_push_only_and_pull_only(invoke: Invoke, server: Server, tmp_path: Path) -> None:
    """--push-only sends without pulling; --pull-only brings remote models without pushing."""
    other = tmp_path / "other.db"
    _run(other, "register", "theirs", "s3://b/t", "--version", "1")
    assert _run(other, "sync", "--remote", server.url, "--push-only").exit_code == 0
    invoke("register", "mine", "s3://b/m", "--version", "1")
    pulled = json.loads(invoke("sync", "--remote", server.url, "--pull-only", "--json").stdout)
    assert pulled["created"] == 0 and pulled["pulled"] >= 1 and pulled["remaining"] == 3
    assert server.model_names() == ["theirs"]
    names = [m["name"] for m in json.loads(invoke("models", "--json").stdout)]
    assert sorted(names) == ["mine", "theirs"]


def test_model_option_limits_the_sync(invoke: Invoke, server: Server) -> None:
    """--model NAME pushes only that model; the other stays queued."""
    invoke("register", "one", "s3://b/1", "--version", "1")
    invoke("register", "two", "s3://b/2", "--version", "1")
    result = invoke("sync", "--remote", server.url, "--model", "two", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["models"] == ["two"]
    assert server.model_names() == ["two"]
    assert {c["model"] for c in json.loads(invoke("pending", "--json").stdout)} == {"one"}


def test_dry_run_prints_the_plan_and_sends_nothing(invoke: Invoke, server: Server) -> None:
    """--dry-run lists the requests and URI rewrites, as text and JSON; nothing reaches the
    remote and the queue is unchanged."""
    invoke("remote", "add", "lab", server.url, "--uri-map", "file:///data/=s3://team/")
    invoke("register", "m", "file:///data/m/1", "--version", "1")
    text = invoke("sync", "--dry-run")
    assert text.exit_code == 0
    assert "nothing sent or written" in text.stdout
    assert "create model m" in text.stdout and "POST /api/model_registry/v1/registered_models" \
        in text.stdout
    assert "uri rewrite: file:///data/m/1 -> s3://team/m/1" in text.stdout
    plan = json.loads(invoke("sync", "--dry-run", "--json").stdout)
    assert plan["dry_run"] is True and len(plan["plan"]) == 3
    assert plan["plan"][2]["uri_rewrite"]["to"] == "s3://team/m/1"
    assert server.model_names() == []
    assert len(json.loads(invoke("pending", "--json").stdout)) == 3


def test_uri_map_is_applied_on_push(invoke: Invoke, server: Server) -> None:
    """The remote receives the rewritten artifact URI; the local one is unchanged."""
    invoke("remote", "add", "lab", server.url, "--uri-map", "file:///data/=s3://team/")
    invoke("register", "m", "file:///data/m/1", "--version", "1")
    assert invoke("sync").exit_code == 0
    arts = server.get("/artifacts")["items"]
    assert [a["uri"] for a in arts] == ["s3://team/m/1"]
    shown = json.loads(invoke("show", "m", "1", "--json").stdout)
    assert shown["artifact"]["uri"] == "file:///data/m/1"


def test_unreachable_remote_exits_4_and_keeps_changes(invoke: Invoke) -> None:
    """Nothing listening: exit 4, the message says the changes are kept, the queue is intact."""
    invoke("register", "m", "s3://b/m", "--version", "1")
    result = invoke("sync", "--remote", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 4
    assert "unreachable" in result.stderr and "kept" in result.stderr
    assert "run `localhub sync` again" in result.stderr
    assert len(json.loads(invoke("pending", "--json").stdout)) == 3


def test_auth_failure_exits_1_with_how_to_fix(invoke: Invoke, tmp_path: Path) -> None:
    """A remote requiring a token, a wrong token in the variable: exit 1, names the variable."""
    from tests.support.processes import start_serve, stop

    proc, port = start_serve(tmp_path / "h", tmp_path / "r.db", tmp_path / "s.log",
                             extra=["--token-env", "SRV_TOKEN"], env={"SRV_TOKEN": "right"})
    try:
        invoke("remote", "add", "sec", f"http://127.0.0.1:{port}", "--token-env", "MY_TOKEN")
        invoke("register", "m", "s3://b/m", "--version", "1")
        result = invoke("sync", env={"MY_TOKEN": "wrong"})
        assert result.exit_code == 1
        error = result.stderr.splitlines()[-1]
        assert error.startswith("error: ") and "$MY_TOKEN" in error
        assert len(result.stderr.strip().splitlines()) == 1
        ok = invoke("sync", env={"MY_TOKEN": "right"})
        assert ok.exit_code == 0, ok.output
    finally:
        stop(proc)


def test_concurrent_sync_exits_1(invoke: Invoke, db: Path, server: Server) -> None:
    """While another sync holds the lock, sync exits 1 with a clear message."""
    invoke("register", "m", "s3://b/m", "--version", "1")
    with SyncLock(str(db), server.url, wait=0):
        result = invoke("sync", "--remote", server.url)
    assert result.exit_code == 1
    assert "another sync" in result.stderr and "is running" in result.stderr


def test_no_remote_is_an_error(invoke: Invoke) -> None:
    """No --remote, no env, no default: exit 1 saying how to add one."""
    result = invoke("sync")
    assert result.exit_code == 1 and "localhub remote add NAME URL" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--push-only", "--pull-only"], "not both"),
    (["--watch"], "--watch needs --every"),
    (["--every", "5x"], "invalid duration '5x'"),
    (["--every", "0s"], "more than zero"),
    (["--every", "1m", "--dry-run"], "--dry-run runs once"),
    (["--every", "1m", "--watch", "--pull-only"], "cannot go with --pull-only"),
    (["--on-conflict", "mine"], "'mine' is not one of"),
])
def test_sync_usage_errors_exit_2(invoke: Invoke, args: list[str], message: str) -> None:
    """Contradictory or malformed options are usage errors (exit 2)."""
    result = invoke("sync", "--remote", "http://127.0.0.1:1", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_progress_only_on_a_terminal(invoke: Invoke, server: Server,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a terminal: no progress line; a terminal: 'push [...] n/m' lines on stderr."""
    invoke("register", "m", "s3://b/m", "--version", "1")
    invoke("register", "n", "s3://b/n", "--version", "1")
    plain = invoke("sync", "--remote", server.url, "--push-only", "--model", "m")
    assert plain.exit_code == 0 and "[" not in plain.stderr
    monkeypatch.setattr("localhub.cli.sync_cmds.stderr_is_tty", lambda: True)
    tty = invoke("sync", "--remote", server.url)
    assert tty.exit_code == 0
    assert "push  [" in tty.stderr and "3/3" in tty.stderr


# -- conflicts and resolve ----------------------------------------------------------------------


def test_conflict_exit_3_list_show_and_resolve_by_value(invoke: Invoke, server: Server,
                                                        tmp_path: Path) -> None:
    """Same field changed on both sides: exit 3; conflicts lists base/local/remote; resolve
    --value sets and pushes it; the next sync exits 0."""
    cid = _conflict(invoke, server, tmp_path, local=("--description", "mine"),
                    remote=("--description", "theirs"))
    table = invoke("conflicts")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == ["ID", "KIND", "ENTITY", "FIELD", "BASE",
                                                    "LOCAL", "REMOTE"]
    row = table.stdout.splitlines()[1].split()
    assert row == [str(cid), "update-update", "model", "m", "description", "-", "mine", "theirs"]
    detail = invoke("conflicts", str(cid))
    assert f"conflict #{cid} update-update: model m [open]" in detail.stdout
    assert f"localhub resolve {cid} --ours | --theirs | --value FIELD=VALUE" in detail.stdout
    data = json.loads(invoke("conflicts", "--json").stdout)
    assert data[0]["values"] == [{"field": "description", "base": None, "local": "mine",
                                  "remote": "theirs"}]
    status = invoke("status", "--offline")
    assert "open conflicts: 1" in status.stdout
    resolved = invoke("resolve", str(cid), "--value", "description=agreed")
    assert resolved.exit_code == 0 and f"resolved conflict #{cid}" in resolved.stdout
    assert invoke("conflicts").stdout.strip() == "no open conflicts"
    assert invoke("sync", "--remote", server.url).exit_code == 0
    assert server.model("m")["description"] == "agreed"
    history = invoke("conflicts", "--all")
    assert "RESOLUTION" in history.stdout and "value" in history.stdout


@pytest.mark.parametrize(("choice", "expected"), [("--ours", "mine"), ("--theirs", "theirs")])
def test_resolve_ours_and_theirs(invoke: Invoke, server: Server, tmp_path: Path,
                                 choice: str, expected: str) -> None:
    """--ours pushes the local value over the remote's; --theirs takes the remote's locally."""
    cid = _conflict(invoke, server, tmp_path, local=("--description", "mine"),
                    remote=("--description", "theirs"))
    assert invoke("resolve", str(cid), choice).exit_code == 0
    assert invoke("sync", "--remote", server.url).exit_code == 0
    assert server.model("m")["description"] == expected
    assert json.loads(invoke("show", "m", "--json").stdout)["model"]["description"] == expected


def test_resolve_property_value_is_typed(invoke: Invoke, server: Server,
                                         tmp_path: Path) -> None:
    """--value KEY=10 on a custom-property conflict stores an int, as --meta does."""
    cid = _conflict(invoke, server, tmp_path, local=("--meta", "k=1"), remote=("--meta", "k=2"))
    shown = json.loads(invoke("conflicts", str(cid), "--json").stdout)
    assert shown["fields"] == ["custom_properties.k"]
    assert shown["values"][0]["local"] == 1 and shown["values"][0]["remote"] == 2
    assert invoke("resolve", str(cid), "--value", "k=10").exit_code == 0
    meta = json.loads(invoke("show", "m", "--json").stdout)["model"]["custom_properties"]
    assert meta == {"k": 10}
    assert invoke("sync", "--remote", server.url).exit_code == 0
    assert server.model("m")["customProperties"]["k"] == {"metadataType": "MetadataIntValue",
                                                          "int_value": "10"}


def test_resolve_errors(invoke: Invoke, server: Server, tmp_path: Path) -> None:
    """Usage errors exit 2; an unknown or already resolved id exits 1 with one line."""
    cid = _conflict(invoke, server, tmp_path, local=("--description", "mine"),
                    remote=("--description", "theirs"))
    assert invoke("resolve", str(cid)).exit_code == 2
    both = invoke("resolve", str(cid), "--ours", "--theirs")
    assert both.exit_code == 2 and "exactly one of" in both.stderr
    bad = invoke("resolve", str(cid), "--value", "novalue")
    assert bad.exit_code == 2 and "expected FIELD=VALUE" in bad.stderr
    wrong = invoke("resolve", str(cid), "--value", "owner=x")
    assert wrong.exit_code == 2 and "is about description, not 'owner'" in wrong.stderr
    missing = invoke("resolve", "999", "--ours")
    assert missing.exit_code == 1 and missing.stderr == (
        "error: no conflict with id 999; see `localhub conflicts`\n")
    assert invoke("conflicts", "999").exit_code == 1
    assert invoke("resolve", str(cid), "--theirs").exit_code == 0
    again = invoke("resolve", str(cid), "--ours")
    assert again.exit_code == 1 and "already resolved" in again.stderr


# -- status -------------------------------------------------------------------------------------


def test_status_queue_remote_and_reachability(invoke: Invoke, server: Server) -> None:
    """status shows queued changes by kind, last push/pull after a sync, reachability."""
    invoke("remote", "add", "lab", server.url)
    invoke("register", "m", "s3://b/m", "--version", "1")
    before = invoke("status")
    assert before.exit_code == 0
    assert "queued: 3 change(s) of 3 entity(ies)" in before.stdout
    assert "registered-model: create 1" in before.stdout
    assert f"remote: lab ({server.url}), reachable" in before.stdout
    invoke("sync")
    after = json.loads(invoke("status", "--json").stdout)
    assert after["queued"]["changes"] == 0 and after["conflicts_open"] == 0
    info = after["remotes"][server.url]
    assert isinstance(info["last_push"], int) and isinstance(info["last_pull"], int)
    assert after["remote"]["reachable"] is True
    text = invoke("status", "--offline").stdout
    assert "reachability not checked" in text and f"remote {server.url}: last push 20" in text


def test_status_unreachable_is_quick_and_not_an_error(invoke: Invoke) -> None:
    """An unreachable remote is reported (exit 0) within the short timeout."""
    import time

    invoke("remote", "add", "gone", f"http://127.0.0.1:{free_port()}")
    invoke("register", "m", "s3://b/m", "--version", "1")
    start = time.monotonic()
    result = invoke("status")
    assert result.exit_code == 0 and "unreachable (changes stay queued)" in result.stdout
    assert time.monotonic() - start < 5


# -- durations and backoff ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600),
                                               ("1h30m", 5400), ("500ms", 0.5), ("2", 2)])
def test_parse_duration(text: str, seconds: float) -> None:
    """Durations with units (and bare seconds) parse to seconds."""
    assert parse_duration(text) == seconds


def test_backoff_is_exponential_capped_and_jittered() -> None:
    """Retry delays double from 2 s, stay under the schedule, and vary between 50 and 100 %."""
    rng = random.Random(1)
    delays = [backoff_delay(n, 60, rng) for n in range(1, 9)]
    assert all(d <= 60 for d in delays)
    assert 1 <= delays[0] <= 2 and 4 <= delays[2] <= 8 and delays[-1] >= 30
    assert backoff_delay(5, 1, rng) <= 1


def test_workers_option_pushes_one_request_at_a_time_and_rejects_zero(
        tmp_path: Path, server: Server) -> None:
    """`--workers 1` still pushes everything; `--workers 0` is a usage error (exit 2)."""
    db = tmp_path / "w.db"
    store = SQLiteStore(db)
    for i in range(3):
        store.register_model(f"w{i}", f"s3://b/w{i}", version="1", author="t", owner="t")
    store.close()
    env = {**os.environ, "LOCALHUB_HOME": str(tmp_path / "home")}
    bad = subprocess.run([sys.executable, "-m", "localhub.cli", "--db", str(db), "sync",
                          "--remote", server.url, "--workers", "0"],
                         capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 2 and "--workers" in bad.stderr
    ok = subprocess.run([sys.executable, "-m", "localhub.cli", "--db", str(db), "sync",
                         "--remote", server.url, "--workers", "1", "--json"],
                        capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["created"] == 9
    assert server.model_names() == ["w0", "w1", "w2"]
