"""`localhub remote reset` forgets a remote so the database can sync with a new server."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import Invoke
from tests.support.processes import start_serve, stop
from tests.support.servers import Server


def test_reset_then_requeue_sends_everything_to_a_new_server(
        invoke: Invoke, server: Server, tmp_path: Path) -> None:
    """Syncing with a replacement server is refused; reset --requeue re-sends everything to it."""
    assert invoke("register", "m", "s3://b/m", "--version", "1").exit_code == 0
    assert invoke("sync", "--remote", server.url).exit_code == 0
    stop(server.proc)
    proc, port = start_serve(tmp_path / "home2", tmp_path / "fresh.db", tmp_path / "s2.log")
    try:
        url = f"http://127.0.0.1:{port}"
        refused = invoke("sync", "--remote", url)
        assert refused.exit_code == 1
        assert "localhub remote reset" in refused.stderr
        result = invoke("remote", "reset", server.url, "--requeue", "--json")
        assert result.exit_code == 0, result.output
        counts = json.loads(result.stdout)
        assert counts["sync_links"] == 3 and counts["requeued"] == 3
        synced = invoke("sync", "--remote", url, "--json")
        assert synced.exit_code == 0, synced.output
        assert json.loads(synced.stdout)["created"] == 3
    finally:
        stop(proc)


def test_reset_of_unknown_remote_name_is_a_clear_error(invoke: Invoke) -> None:
    """A name that is not configured gives one line pointing at `remote list`, exit 1."""
    result = invoke("remote", "reset", "nope")
    assert result.exit_code == 1 and "localhub remote list" in result.stderr
