"""serve under hostile load, over real sockets: huge bodies, idle and slow connections."""

from __future__ import annotations

import os
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.processes import free_port, stop, wait_healthy
from tests.support.servers import API, Server, serving

MB = 1024 * 1024


def _rss(pid: int) -> int:
    """Resident set size of process ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def _read_answer(sock: socket.socket, timeout: float = 10) -> bytes:
    """What the server sent until it closed the connection or ``timeout`` passed."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _post_head(port: int, extra: str) -> bytes:
    return (f"POST {API}/registered_models HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n{extra}\r\n").encode()


def _huge_with_length(port: int) -> bytes:
    """Announce 100 MB, then try to send them; returns the answer."""
    with _connect(port) as sock:
        sock.sendall(_post_head(port, f"Content-Length: {100 * MB}\r\n"))
        answer = _read_answer(sock, timeout=5)
        chunk = b"x" * MB
        try:
            for _ in range(100):
                sock.sendall(chunk)
        except OSError:
            pass  # the server closed the connection: what should happen
        else:
            raise AssertionError("the server read a 100 MB body it had refused")
        return answer


def _huge_chunked(port: int) -> bytes:
    """Stream 100 MB in chunked encoding until the server answers; returns the answer."""
    with _connect(port) as sock:
        sock.sendall(_post_head(port, "Transfer-Encoding: chunked\r\n"))
        piece = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
        try:
            for _ in range(100 * 16):
                sock.sendall(piece)
                if select.select([sock], [], [], 0)[0]:
                    break
        except OSError:
            pass
        return _read_answer(sock, timeout=5)


def test_huge_bodies_are_refused_without_memory_growth(server: Server) -> None:
    """100 MB POSTs (declared and chunked) get 413 and leave the server's RSS flat."""
    before = _rss(server.proc.pid)
    for _ in range(2):
        answer = _huge_with_length(server.port)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    for _ in range(2):
        answer = _huge_chunked(server.port)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    growth = _rss(server.proc.pid) - before
    assert growth < 40 * MB, f"RSS grew by {growth / MB:.0f} MB"
    assert server.log().count(" 413 ") == 4
    r = requests.get(f"{server.api}/registered_models", timeout=10)
    assert r.status_code == 200 and r.json()["items"] == []


@pytest.fixture
def small_body_server(tmp_path: Path) -> Iterator[Server]:
    """``localhub serve --max-body 1KiB``."""
    with serving(tmp_path, tmp_path / "r.db", tmp_path / "serve.log",
                 ["--max-body", "1KiB"]) as server:
        yield server


def test_max_body_option(small_body_server: Server) -> None:
    """``--max-body`` sets the limit: a body just over it gets 413, one under it is served."""
    url = f"{small_body_server.api}/registered_models"
    over = {"name": "big", "description": "d" * 1024}
    r = requests.post(url, json=over, timeout=10)
    assert r.status_code == 413 and "--max-body" in r.json()["message"]
    r = requests.post(url, data=iter([b'{"name": "big", "description": "', b"d" * 2048, b'"}']),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413  # chunked: counted while streaming
    assert requests.post(url, json={"name": "small"}, timeout=10).status_code == 201


def test_bad_max_body_value(tmp_path: Path) -> None:
    """A --max-body that is not a size is a usage error (exit 2)."""
    done = subprocess.run([sys.executable, "-m", "localhub.cli", "serve", "--max-body", "lots",
                           "--db", str(tmp_path / "r.db"), "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LOCALHUB_HOME": str(tmp_path)})
    assert done.returncode == 2 and "--max-body" in done.stderr


@pytest.fixture
def many_fds() -> Iterator[None]:
    """Let this test process hold a few thousand sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    if want < 1300:
        pytest.skip(f"the hard open-file limit ({hard}) is below what the test needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_idle_sockets_do_not_starve_it(tmp_path: Path, many_fds: None) -> None:
    """With 1,100 idle connections open (started with a 1,024 soft limit), a normal request
    is still answered."""
    port = free_port()
    log = tmp_path / "serve.log"

    def low_limit() -> None:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    cmd = [sys.executable, "-m", "localhub.cli", "serve", "--port", str(port),
           "--db", str(tmp_path / "r.db")]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=low_limit,
                                env={**os.environ, "LOCALHUB_HOME": str(tmp_path)})
    idle: list[socket.socket] = []
    try:
        wait_healthy(f"http://127.0.0.1:{port}/readyz/health", proc, log)
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        soft, hard = next(line.split()[3:5] for line in limits.splitlines()
                          if line.startswith("Max open files"))
        assert soft == hard, limits  # raised to the hard limit at start
        for _ in range(1100):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        started = time.monotonic()
        r = requests.get(f"http://127.0.0.1:{port}{API}/registered_models", timeout=10)
        assert r.status_code == 200
        assert time.monotonic() - started < 5
        assert proc.poll() is None
    finally:
        for sock in idle:
            sock.close()
        stop(proc)


def test_slow_clients_are_cut_off(server: Server) -> None:
    """A slowloris trickling headers is closed, and a stalled body gets 408, both within
    seconds; meanwhile the server answers others."""
    port = server.port
    loris = _connect(port)
    loris.sendall(f"GET {API}/registered_models HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
    stalled = _connect(port)
    stalled.sendall(_post_head(port, "Content-Length: 100\r\n") + b'{"name": ')
    started = time.monotonic()
    closed_at: float | None = None
    answer = b""
    try:
        while time.monotonic() - started < 30 and (closed_at is None or not answer):
            if closed_at is None:
                try:
                    loris.sendall(b"X-Slow: 1\r\n")
                    if select.select([loris], [], [], 0)[0] and not loris.recv(1024):
                        closed_at = time.monotonic()
                except OSError:
                    closed_at = time.monotonic()
            if not answer and select.select([stalled], [], [], 0)[0]:
                answer = stalled.recv(65536) or b"closed"
            assert requests.get(f"{server.url}/readyz/health", timeout=5).status_code == 200
            time.sleep(0.5)
    finally:
        loris.close()
        stalled.close()
    assert closed_at is not None, "the slowloris connection was kept open for 30 s"
    assert closed_at - started < 20
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


class _Transport:
    """Just enough of an asyncio transport to hand over its socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> object:
        return self.sock if name == "socket" else None


def test_connections_send_without_nagle_delay() -> None:
    """Every accepted connection has TCP_NODELAY: uvicorn writes a response's headers and body
    separately, and with Nagle's algorithm the body waited for the client's delayed ACK
    (about 40 ms a request on loopback)."""
    from localhub.server.limits import _no_delay

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        _no_delay(_Transport(sock))  # type: ignore[arg-type]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
