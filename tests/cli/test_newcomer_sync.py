"""The newcomer's sync against a real `localhub serve`: the remote it picks, URLs with the API
path, unknown models, --verbose, `localhub log`, delete of synced entries, and Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from click.shell_completion import ShellComplete

from localhub.cli.main import main

from tests.support.cli import Invoke
from tests.support.cli import make_conflict as _conflict
from tests.support.processes import FAULTPROXY, free_port, stop, wait_healthy
from tests.support.servers import API, Server


class Proxy:
    """The fault proxy in front of the server."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rules(self, *rules: dict[str, object]) -> None:
        requests.post(self.url + "/__proxy__/rules", json=list(rules), timeout=5)

    def reset(self) -> None:
        requests.post(self.url + "/__proxy__/reset", timeout=5)

    def holding(self) -> bool:
        log = requests.get(self.url + "/__proxy__/log", timeout=5).json()
        return any(str(entry[-1]).startswith("holding") for entry in log)


@pytest.fixture
def proxy(server: Server, tmp_path: Path) -> Iterator[Proxy]:
    """A real fault proxy process in front of the server."""
    port = free_port()
    log = tmp_path / "proxy.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(FAULTPROXY), "--target", server.url,
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/readyz/health", proc, log)
        yield Proxy(f"http://127.0.0.1:{port}")
    finally:
        stop(proc)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _register(invoke: Invoke, n: int) -> None:
    for i in range(n):
        assert invoke("register", f"m{i}", f"s3://b/m{i}", "--version", "1").exit_code == 0


# -- which remote -------------------------------------------------------------------------------


def test_plain_sync_goes_on_with_the_upstream(invoke: Invoke, server: Server) -> None:
    """After `sync --remote URL`, a plain `sync` uses that URL and says why."""
    _register(invoke, 1)
    assert invoke("sync", "--remote", server.url).exit_code == 0
    invoke("update", "m0", "--description", "second")
    result = invoke("sync")
    assert result.exit_code == 0, result.output
    assert f"remote: {server.url}, the upstream of this database" in result.stderr
    assert server.model("m0")["description"] == "second"


def test_url_with_the_api_path_is_normalised(invoke: Invoke, server: Server) -> None:
    """A --remote URL with the API path syncs like the bare server address."""
    _register(invoke, 1)
    plan = invoke("sync", "--remote", server.url + API + "/", "--dry-run")
    assert plan.exit_code == 0
    assert API + API not in plan.output and f"{API}/registered_models" in plan.output
    result = invoke("sync", "--remote", server.url + API)
    assert result.exit_code == 0, result.output
    assert server.model_names() == ["m0"]
    assert json.loads(invoke("status", "--offline", "--json").stdout)["upstream"] == server.url


def test_sync_of_an_unknown_model_is_an_error(invoke: Invoke, server: Server) -> None:
    """`sync --model nosuch` exits 1 naming the model; a dry run only notes it."""
    _register(invoke, 1)
    result = invoke("sync", "--remote", server.url, "--model", "nosuch")
    assert result.exit_code == 1
    assert "error: no model named 'nosuch' here or on" in result.stderr
    dry = invoke("sync", "--remote", server.url, "--model", "nosuch", "--dry-run")
    assert dry.exit_code == 0 and "note: no model named 'nosuch'" in dry.stderr
    assert invoke("sync", "--remote", server.url, "--model", "m0").exit_code == 0


# -- what a run shows and records ---------------------------------------------------------------


def test_verbose_prints_each_request_and_never_the_token(invoke: Invoke,
                                                        server: Server) -> None:
    """--verbose lists method, path, status and time of each request; the token never shows."""
    secret = "s3cr3t-token-value"
    invoke("remote", "add", "local", server.url, "--token-env", "REG_TOKEN")
    _register(invoke, 2)
    result = invoke("sync", "--verbose", env={"REG_TOKEN": secret})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("  ")]
    pattern = re.compile(rf"  (GET|POST|PATCH) +{re.escape(API)}/\S+ \d{{3}} \d+ ms")
    assert lines and all(pattern.fullmatch(line) for line in lines), lines
    assert sum(line.split()[0] == "POST" for line in lines) == 6, lines
    assert secret not in result.output
    quiet = invoke("sync", env={"REG_TOKEN": secret})
    assert not [line for line in quiet.stderr.splitlines() if line.startswith("  ")]


def test_log_lists_the_last_syncs(invoke: Invoke, server: Server) -> None:
    """log lists each sync (newest first) with its remote, counts and outcome."""
    _register(invoke, 2)
    assert invoke("sync", "--remote", server.url).exit_code == 0
    invoke("update", "m0", "--description", "x")
    assert invoke("sync", "--remote", server.url, "--push-only").exit_code == 0
    assert invoke("sync", "--remote", server.url, "--dry-run").exit_code == 0
    runs = json.loads(invoke("log", "--json").stdout)
    assert [(r["remote"], r["outcome"], r["exit_code"]) for r in runs] == [
        (server.url, "synced", 0)] * 2
    assert (runs[0]["updated"], runs[1]["created"], runs[1]["remaining"]) == (1, 6, 0)
    table = invoke("log").stdout.splitlines()
    assert table[0].split()[:4] == ["WHEN", "REMOTE", "OUTCOME", "PUSHED"]
    assert len(table) == 3 and server.url in table[1] and "synced" in table[1]
    assert len(invoke("log", "-n", "1").stdout.splitlines()) == 2


def test_delete_refuses_synced_entries(invoke: Invoke, server: Server) -> None:
    """A synced model or version is not deleted: exit 1, the reason and `archive` instead."""
    _register(invoke, 1)
    assert invoke("sync", "--remote", server.url).exit_code == 0
    for args, target in ((["m0"], "model m0"), (["m0", "1"], "version m0 1")):
        result = invoke("delete", *args)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: cannot delete {target}: it was synced")
        assert f"`localhub archive {target.split(' ', 1)[1]}`" in result.stderr
    assert invoke("show", "m0", "1").exit_code == 0


def test_completion_of_open_conflict_ids(invoke: Invoke, server: Server, db: Path,
                                         tmp_path: Path) -> None:
    """Tab after `resolve` offers the open conflict ids only."""
    conflict = _conflict(invoke, server, tmp_path, local=("--description", "mine"),
                         remote=("--description", "theirs"))
    comp = ShellComplete(main, {}, "localhub", "_LOCALHUB_COMPLETE")
    offered = [i.value for i in comp.get_completions(["--db", str(db), "resolve"], "")]
    assert offered == [str(conflict)]
    assert invoke("resolve", str(conflict), "--ours").exit_code == 0
    assert comp.get_completions(["--db", str(db), "conflicts"], "") == []


# -- Ctrl-C -------------------------------------------------------------------------------------


def _spawn(tmp_path: Path, db: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path, Path]:
    out, err = tmp_path / "sync.out", tmp_path / "sync.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen([sys.executable, "-m", "localhub.cli", "--db", str(db), *args],
                                stdout=o, stderr=e,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return proc, out, err


def test_ctrl_c_on_a_one_shot_sync_summarises_and_exits_130(
        invoke: Invoke, db: Path, proxy: Proxy, tmp_path: Path) -> None:
    """SIGINT during a held request: a summary line (sent, acknowledged, queued), exit 130."""
    _register(invoke, 3)
    proxy.rules({"match": "POST", "nth": 2, "action": "hold", "phase": "before",
                 "seconds": 60})
    proc, _, err = _spawn(tmp_path, db, "sync", "--remote", proxy.url, "--workers", "1")
    try:
        _wait(proxy.holding, "the proxy to hold the second POST")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = err.read_text()
    assert "Aborted" not in text and "Traceback" not in text, text
    found = re.search(r"interrupted: (\d+) request\(s\) answered, (\d+) change\(s\) "
                      r"acknowledged by the remote, (\d+) still queued", text)
    assert found, text
    answered, acked, queued = map(int, found.groups())
    pending = {(c["entity"], c["entity_id"])
               for c in json.loads(invoke("pending", "--json").stdout)}
    assert answered >= 1 and acked >= 1 and acked + queued == 9 and queued == len(pending)
    proxy.reset()
    assert invoke("sync", "--remote", proxy.url).exit_code == 0  # the lock was released


def test_ctrl_c_in_the_loop_finishes_the_run(invoke: Invoke, db: Path, proxy: Proxy,
                                             tmp_path: Path) -> None:
    """The first SIGINT of `sync --every` during a run says it finishes the run; exit 0."""
    _register(invoke, 1)
    proxy.rules({"match": "POST", "nth": 1, "action": "hold", "phase": "before",
                 "seconds": 3})
    proc, out, err = _spawn(tmp_path, db, "sync", "--every", "1h", "--remote", proxy.url)
    try:
        _wait(proxy.holding, "the proxy to hold the first POST")
        proc.send_signal(signal.SIGINT)
        _wait(lambda: "Ctrl-C again to stop now" in err.read_text(), "the first-signal note")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "finishing the current run; Ctrl-C again to stop now" in err.read_text()
    assert "pushed 3" in out.read_text()
