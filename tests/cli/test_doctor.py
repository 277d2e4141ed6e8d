"""`localhub doctor`: database, config and remote checks."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from localhub.store import SQLiteStore

from tests.support.cli import Invoke


@pytest.fixture
def registry_server() -> Iterator[tuple[str, list[str]]]:
    """A tiny HTTP server: 200 with 'Bearer good', else 401; yields (url, seen auth headers)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            seen.append(auth)
            self.send_response(200 if auth == "Bearer good" else 401)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _checks(invoke: Invoke, *args: str) -> tuple[int, dict[str, dict[str, str]]]:
    """Run `doctor --json` and index the checks by name."""
    result = invoke("doctor", "--json", *args)
    return result.exit_code, {c["name"]: c for c in json.loads(result.stdout)}


def test_missing_database_is_a_warning_and_not_created(invoke: Invoke, db: Path) -> None:
    """No database yet: WARN, exit 0, and the doctor does not create it."""
    code, checks = _checks(invoke)
    assert code == 0 and checks["database.file"]["status"] == "WARN"
    assert not db.exists()


def test_healthy_database(invoke: Invoke, store: SQLiteStore) -> None:
    """A registry written by localhub passes every database check."""
    store.register_model("m", "s3://b/m", version="1")
    result = invoke("doctor")
    assert result.exit_code == 0
    for name in ("database.writable", "database.integrity", "database.schema", "database.wal",
                 "config"):
        assert any(line.startswith("OK") and f" {name}:" in line
                   for line in result.stdout.splitlines()), name


def test_corrupt_database_fails(invoke: Invoke, db: Path) -> None:
    """A file that is not a database: FAIL with advice, exit 1."""
    db.write_bytes(b"this is not sqlite" * 100)
    result = invoke("doctor")
    assert result.exit_code == 1
    fail = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert fail and "backup" in fail[0]


def test_newer_schema_fails(invoke: Invoke, store: SQLiteStore, db: Path) -> None:
    """A database from a newer localhub: FAIL, upgrade localhub."""
    import sqlite3

    store.register_model("m", "s3://b/m", version="1")
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    code, checks = _checks(invoke)
    assert code == 1 and checks["database.schema"]["status"] == "FAIL"
    assert checks["database.schema"]["fix"] == "upgrade localhub"


def test_bad_config_fails(invoke: Invoke, isolated_home: Path) -> None:
    """A config file that does not parse is a FAIL."""
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.toml").write_text("not = [toml")
    code, checks = _checks(invoke)
    assert code == 1 and checks["config"]["status"] == "FAIL"


def test_unreachable_remote_is_a_warning(invoke: Invoke) -> None:
    """A remote nobody answers on is a WARN (offline is normal), exit 0."""
    invoke("remote", "add", "down", f"http://127.0.0.1:{_closed_port()}")
    code, checks = _checks(invoke)
    assert code == 0 and checks["remote.down"]["status"] == "WARN"
    assert "unreachable" in checks["remote.down"]["message"]


def test_remote_auth(invoke: Invoke, registry_server: tuple[str, list[str]],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused token is a FAIL naming the variable; the right one is OK."""
    url, seen = registry_server
    invoke("remote", "add", "prod", url, "--token-env", "REG_TOKEN")
    monkeypatch.setenv("REG_TOKEN", "bad")
    code, checks = _checks(invoke)
    assert code == 1 and checks["remote.prod"]["status"] == "FAIL"
    assert "$REG_TOKEN" in checks["remote.prod"]["fix"]
    monkeypatch.setenv("REG_TOKEN", "good")
    code, checks = _checks(invoke)
    assert code == 0 and checks["remote.prod"]["status"] == "OK"
    assert seen == ["Bearer bad", "Bearer good"]


def test_unset_token_variable_fails_without_network(invoke: Invoke,
                                                    registry_server: tuple[str, list[str]]
                                                    ) -> None:
    """An unset token variable is a FAIL found without any request."""
    url, seen = registry_server
    invoke("remote", "add", "prod", url, "--token-env", "UNSET_TOKEN_VAR")
    code, checks = _checks(invoke)
    assert code == 1 and checks["remote.prod.auth"]["fix"].startswith("export UNSET_TOKEN_VAR")
    assert seen == []


def test_offline_skips_the_network(invoke: Invoke, registry_server: tuple[str, list[str]]
                                   ) -> None:
    """--offline checks the remote's settings but sends nothing."""
    url, seen = registry_server
    invoke("remote", "add", "prod", url)
    code, checks = _checks(invoke, "--offline")
    assert code == 0 and checks["remote.prod"]["status"] == "OK" and seen == []
