"""serve beside a browser and hostile clients: Host, Origin, content type, answers, identity."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from localhub.store import SQLiteStore
from localhub.types import RegisteredModel

from tests.support.processes import free_port, start_serve, stop, wait_healthy
from tests.support.servers import API, Server, serving

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def hosts_server(tmp_path: Path) -> Iterator[Server]:
    """``localhub serve --allow-host registry.internal`` on a fresh database."""
    with serving(tmp_path, tmp_path / "r.db", tmp_path / "serve.log",
                 ["--allow-host", "registry.internal"]) as server:
        yield server


def _names(server: Server) -> list[str]:
    r = requests.get(f"{server.api}/registered_models", params={"pageSize": 100}, timeout=10)
    return [m["name"] for m in r.json()["items"]]


# -- Host (DNS rebinding) -------------------------------------------------------------------


def test_rebinding_host_is_refused(server: Server) -> None:
    """A request naming another host (a rebinding domain) is refused, reads and writes alike."""
    evil = {"Host": f"attacker.example:{server.port}"}
    r = requests.get(f"{server.api}/registered_models", headers=evil, timeout=10)
    assert r.status_code == 421
    assert "--allow-host" in r.json()["message"]
    r = requests.post(f"{server.api}/registered_models", json={"name": "rebound"},
                      headers=evil, timeout=10)
    assert r.status_code == 421
    assert requests.get(f"{server.url}/readyz/health", headers=evil, timeout=10).status_code \
        == 421
    assert _names(server) == []


@pytest.mark.parametrize("host", ["localhost", "localhost:{port}", "127.0.0.1:{port}",
                                  "[::1]:{port}", "[::1]", "LOCALHOST:{port}"])
def test_loopback_hosts_are_accepted(shared: Server, host: str) -> None:
    """localhost, 127.0.0.1 and [::1], with or without the port, name the server."""
    r = requests.get(f"{shared.api}/registered_models",
                     headers={"Host": host.format(port=shared.port)}, timeout=10)
    assert r.status_code == 200


def test_allow_host_option(hosts_server: Server) -> None:
    """``--allow-host NAME`` adds NAME (any port) and nothing else."""
    for host, status in (("registry.internal", 200), (f"registry.internal:{hosts_server.port}",
                                                      200),
                         ("registry.internal.attacker.example", 421), ("internal", 421)):
        r = requests.get(f"{hosts_server.api}/registered_models", headers={"Host": host},
                         timeout=10)
        assert r.status_code == status, host


# -- Origin / Sec-Fetch-Site (cross-site writes) ------------------------------------------


def test_cross_origin_writes_are_refused(server: Server) -> None:
    """POST/PATCH with a foreign Origin or Sec-Fetch-Site cross-/same-site answer 403."""
    url = f"{server.api}/registered_models"
    for extra in ({"Origin": "http://attacker.example"},
                  {"Origin": f"http://localhost:{server.port}"},  # another origin, same machine
                  {"Origin": "null"},
                  {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        r = requests.post(url, json={"name": "csrf"}, headers=extra, timeout=10)
        assert r.status_code == 403, extra
    made = requests.post(url, json={"name": "mine"}, timeout=10)
    assert made.status_code == 201
    r = requests.patch(f"{url}/{made.json()['id']}", json={"description": "x"},
                       headers={"Origin": "http://attacker.example"}, timeout=10)
    assert r.status_code == 403
    assert _names(server) == ["mine"]


def test_same_origin_and_plain_clients_pass(server: Server) -> None:
    """The server's own origin, Sec-Fetch-Site same-origin/none, and clients without those
    headers may write; reads with a foreign Origin are answered (the browser hides them)."""
    url = f"{server.api}/registered_models"
    own = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    assert requests.post(url, json={"name": "a"}, headers=own, timeout=10).status_code == 201
    assert requests.post(url, json={"name": "b"}, headers={"Sec-Fetch-Site": "none"},
                         timeout=10).status_code == 201
    assert requests.post(url, json={"name": "c"}, timeout=10).status_code == 201
    r = requests.get(url, headers={"Origin": "http://attacker.example"}, timeout=10)
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


# -- content type ---------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_non_json_bodies_get_415(server: Server, content_type: str | None) -> None:
    """A REST body that is not application/json (what a page can send without preflight) is
    refused with 415, and nothing is written."""
    body = json.dumps({"name": "simple-request"}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    with requests.Session() as session:
        req = requests.Request("POST", f"{server.api}/registered_models", data=body,
                               headers=headers).prepare()
        if content_type is None:
            req.headers.pop("Content-Type", None)
        r = session.send(req, timeout=10)
    assert r.status_code == 415
    assert _names(server) == []


def test_refusals_reach_the_client_before_the_connection_closes(shared: Server) -> None:
    """A refused request's body is read before the server closes the connection, so the
    client always gets the answer, never a reset (unread data makes the kernel send RST)."""
    body = b'{"name": "refused"}'
    request = (b"POST /api/model_registry/v1/registered_models HTTP/1.1\r\n"
               b"Host: 127.0.0.1\r\nContent-Type: text/plain\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    statuses = []
    for _ in range(100):
        with socket.create_connection(("127.0.0.1", shared.port), timeout=10) as sock:
            sock.sendall(request)
            try:
                statuses.append(sock.recv(4096).split(b"\r\n", 1)[0])
            except ConnectionResetError:
                statuses.append(b"reset")
    assert set(statuses) == {b"HTTP/1.1 415 Unsupported Media Type"}


def test_json_with_charset_and_web_paths(shared: Server, uniq: str) -> None:
    """``application/json; charset=utf-8`` is JSON; paths outside /api are not held to it."""
    r = requests.post(f"{shared.api}/registered_models", data=json.dumps({"name": uniq}),
                      headers={"Content-Type": "application/json; charset=utf-8"}, timeout=10)
    assert r.status_code == 201
    r = requests.post(f"{shared.url}/no-such-page", data={"a": "b"}, timeout=10)
    assert r.status_code != 415


# -- robust answers -------------------------------------------------------------------------


def _token(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_forged_page_tokens_with_huge_numbers(shared: Server) -> None:
    """Tokens carrying numbers beyond 64 bits answer 400, not 500."""
    for raw in ("9" * 300 + ":1", "1:" + "9" * 300, f"{2**63}:0", f"0:{-(2**63) - 1}",
                "1_0:5", " 1:2", "+1:2"):
        r = requests.get(f"{shared.api}/registered_models",
                         params={"nextPageToken": _token(raw), "pageSize": "2"}, timeout=10)
        assert r.status_code == 400, raw
        assert r.json()["code"] == "Bad Request"
    r = requests.get(f"{shared.api}/registered_models",
                     params={"nextPageToken": _token(f"{2**63 - 1}:0")}, timeout=10)
    assert r.status_code == 200 and r.json()["items"] == []


@settings(max_examples=80, deadline=None)
@given(token=st.one_of(
    st.text(max_size=60),
    st.builds(lambda a, b: _token(f"{a}:{b}"), st.integers(), st.integers()),
    st.builds(lambda a, b: _token(f"{a}:{b}"), st.text(max_size=30), st.text(max_size=30)),
    st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()),
))
def test_any_page_token_is_200_or_400(shared: Server, token: str) -> None:
    """Whatever the nextPageToken, the answer is 200 or 400, never a server error."""
    for order in ("ID", "CREATE_TIME"):
        r = requests.get(f"{shared.api}/registered_models",
                         params={"nextPageToken": token, "orderBy": order, "pageSize": 3},
                         timeout=10)
        assert r.status_code in (200, 400), (token, r.text)


def _struct(obj: object) -> dict[str, str]:
    encoded = base64.b64encode(json.dumps(obj).encode()).decode()
    return {"metadataType": "MetadataStructValue", "struct_value": encoded}


def test_deeply_nested_struct_is_400(shared: Server, uniq: str) -> None:
    """A struct property nested beyond the limit answers 400; one within it is stored."""
    url = f"{shared.api}/registered_models"
    for depth in (101, 5000, 100_000):
        deep = "[" * depth + "]" * depth
        body = {"name": f"{uniq}-{depth}",
                "customProperties": {"s": {"metadataType": "MetadataStructValue",
                                           "struct_value": base64.b64encode(
                                               ('{"a":' + deep + "}").encode()).decode()}}}
        r = requests.post(url, json=body, timeout=30)
        assert r.status_code == 400, depth
        assert "nest" in r.json()["message"]
    ok: object = {}
    for _ in range(99):
        ok = {"a": ok}
    r = requests.post(url, json={"name": uniq, "customProperties": {"s": _struct(ok)}},
                      timeout=10)
    assert r.status_code == 201


def test_custom_property_count_is_capped(shared: Server, uniq: str) -> None:
    """1,000 custom properties are accepted, 1,001 answer 400."""
    def props(n: int) -> dict[str, dict[str, str]]:
        return {f"k{i}": {"metadataType": "MetadataStringValue", "string_value": "v"}
                for i in range(n)}

    url = f"{shared.api}/registered_models"
    r = requests.post(url, json={"name": uniq, "customProperties": props(1001)}, timeout=10)
    assert r.status_code == 400 and "1000" in r.json()["message"]
    r = requests.post(url, json={"name": uniq, "customProperties": props(1000)}, timeout=10)
    assert r.status_code == 201 and len(r.json()["customProperties"]) == 1000


def test_control_characters_are_escaped_in_the_access_log(shared: Server) -> None:
    """A path with a newline or escape sequence stays one escaped access-log line."""
    forged = "x%0A2099-01-01 00:00:00,000 GET /forged 200 1.0ms%1B[31m"
    requests.get(f"{shared.api}/registered_models/{forged}", timeout=10)
    deadline = time.monotonic() + 10
    while "forged" not in shared.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = shared.log().splitlines()
    hit = [line for line in lines if "forged" in line]
    assert len(hit) == 1, hit
    assert "\\n2099-01-01" in hit[0] and "\\x1b[31m" in hit[0]
    assert not any(line.startswith("2099-01-01") for line in lines)
    assert "\x1b" not in shared.log()


def test_default_page_size(tmp_path: Path) -> None:
    """Without pageSize a list holds 1,000 items and a token leads to the rest."""
    db = tmp_path / "r.db"
    store = SQLiteStore(db)
    try:
        for i in range(1003):
            store.create(RegisteredModel(name=f"m{i:04d}"))
    finally:
        store.close()
    proc, port = start_serve(tmp_path, db, tmp_path / "serve.log")
    try:
        url = f"http://127.0.0.1:{port}{API}/registered_models"
        first = requests.get(url, timeout=30).json()
        assert first["size"] == 1000 and first["pageSize"] == 0 and first["nextPageToken"]
        rest = requests.get(url, params={"nextPageToken": first["nextPageToken"]},
                            timeout=30).json()
        assert rest["size"] == 3 and rest["nextPageToken"] == ""
        assert requests.get(url, params={"pageSize": 2000}, timeout=30).json()["size"] == 1003
    finally:
        stop(proc)


# -- the database served, the port --------------------------------------------------------


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LOCALHUB_DB"}
    return {**env, "LOCALHUB_HOME": str(home)}


def _serve_cmd(port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "localhub.cli", *args, "serve", "--port", str(port)]


def test_group_db_option_is_served(tmp_path: Path) -> None:
    """``localhub --db X serve`` serves X, not the default database."""
    db = tmp_path / "chosen.db"
    store = SQLiteStore(db)
    try:
        store.create(RegisteredModel(name="in-chosen"))
    finally:
        store.close()
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(_serve_cmd(port, "--db", str(db)), stdout=out,
                                stderr=subprocess.STDOUT,
                                env=_env(tmp_path / "h"))
    try:
        wait_healthy(f"http://127.0.0.1:{port}/readyz/health", proc, log)
        r = requests.get(f"http://127.0.0.1:{port}{API}/registered_models", timeout=10)
        assert [m["name"] for m in r.json()["items"]] == ["in-chosen"]
        assert str(db) in log.read_text()
    finally:
        stop(proc)
    assert not (tmp_path / "h").exists() or not any((tmp_path / "h").rglob("*.db"))


def test_busy_port_exits_1(tmp_path: Path) -> None:
    """serve on a port another process listens on exits 1 with one error line."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(_serve_cmd(port, "--db", str(tmp_path / "r.db")),
                              capture_output=True, text=True, timeout=60,
                              env=_env(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: port {port} is in use; choose another with --port")
    assert "Traceback" not in done.stderr


def test_a_damaged_database_is_refused_before_serving(tmp_path: Path) -> None:
    """serve on a file that is not a database exits 1 with one error line, and never says it
    is serving; the port is free again."""
    db = tmp_path / "junk.db"
    db.write_bytes(b"SQLite format 3\x00" + b"garbage" * 100)
    port = free_port()
    done = subprocess.run(_serve_cmd(port, "--db", str(db)), capture_output=True, text=True,
                          timeout=60, env=_env(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {db} is not a usable localhub database (file is not a database); restore it "
        "from a backup or point --db / LOCALHUB_DB at another file"]
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


def test_sync_refuses_its_own_server(tmp_path: Path) -> None:
    """Syncing a database with a serve of that same database stops before anything is sent;
    the queue and the upstream pin stay as they were. Another database syncs."""
    from localhub.errors import RemoteIdentityError
    from localhub.sync import SyncEngine

    db = tmp_path / "r.db"
    registry_store = SQLiteStore(db)
    registry_store.create(RegisteredModel(name="queued"))
    queued = registry_store.db.read
    proc, port = start_serve(tmp_path, db, tmp_path / "serve.log")
    try:
        url = f"http://127.0.0.1:{port}"
        with pytest.raises(RemoteIdentityError, match="this very database"):
            with SyncEngine(registry_store, url) as engine:
                engine.run()
        with queued() as conn:
            assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] > 0
        assert registry_store.get_meta("sync_upstream") is None
        r = requests.get(f"{url}{API}/registered_models", timeout=10)
        assert [m["name"] for m in r.json()["items"]] == ["queued"]
        assert " 409 " in (tmp_path / "serve.log").read_text()
        # A different database (even the same content) is not refused.
        other = SQLiteStore(tmp_path / "other.db")
        try:
            other.create(RegisteredModel(name="from-other"))
            with SyncEngine(other, url) as engine:
                report = engine.run(pull=False)
            assert report.remaining == 0
        finally:
            other.close()
    finally:
        stop(proc)
        registry_store.close()
