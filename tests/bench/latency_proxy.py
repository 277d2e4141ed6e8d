"""A forwarding HTTP proxy that adds a fixed delay to every request, run as its own process.

    python -m tests.bench.latency_proxy --target http://127.0.0.1:PORT --port N --delay-ms 50

Each request waits ``--delay-ms`` before it is forwarded (a round trip to a distant server),
then goes on unchanged over a kept-alive connection; client connections are kept alive too
(HTTP/1.1), as a real remote's would be. Requests are counted by method and path kind:

* ``GET /__proxy__/counts``: ``{"total": n, "by": {"GET /model_versions": n, ...}}``, ids in
  paths folded to ``{id}``.
* ``POST /__proxy__/reset``: zero the counts.
* ``POST /__proxy__/delay`` with ``{"ms": 50}``: change the delay.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOCK = threading.Lock()
COUNTS: Counter[str] = Counter()
STATE = {"delay": 0.05}
TARGET = ("127.0.0.1", 0)
LOCAL = threading.local()
_HOP = ("host", "connection", "keep-alive", "transfer-encoding", "proxy-connection")
_ID = re.compile(r"/[0-9]+(?=/|$)")


def _kind(method: str, path: str) -> str:
    """``GET /model_versions/{id}/artifacts`` from a request line (prefix and query dropped)."""
    bare = re.sub(r"^/api/model_registry/v1[^/]*", "", path.split("?", 1)[0])
    return f"{method} {_ID.sub('/{id}', bare)}"


def _upstream() -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection | None = getattr(LOCAL, "conn", None)
    if conn is None:
        conn = http.client.HTTPConnection(*TARGET, timeout=60)
        conn.connect()
        # Without it Nagle's algorithm and delayed ACKs add ~40 ms to some round trips, on
        # top of the delay this proxy is meant to add.
        assert conn.sock is not None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        LOCAL.conn = conn
    return conn


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _reply(self, status: int, data: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _control(self, body: bytes) -> None:
        with LOCK:
            if self.path == "/__proxy__/reset":
                COUNTS.clear()
                out: object = {"ok": True}
            elif self.path == "/__proxy__/delay":
                STATE["delay"] = float(json.loads(body or b"{}").get("ms", 0)) / 1000
                out = {"ms": STATE["delay"] * 1000}
            else:
                out = {"total": sum(COUNTS.values()), "by": dict(COUNTS)}
        self._reply(200, json.dumps(out).encode(), [("Content-Type", "application/json")])

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__proxy__/"):
            self._control(body)
            return
        with LOCK:
            COUNTS[_kind(self.command, self.path)] += 1
            delay = STATE["delay"]
        time.sleep(delay)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            conn = _upstream()
            try:
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                LOCAL.conn = None
                if attempt == 2:
                    raise
        self._reply(resp.status, data, [(k, v) for k, v in resp.getheaders()
                                        if k.lower() not in (*_HOP, "content-length",
                                                             "server", "date")])

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


def main() -> None:
    global TARGET
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=50)
    args = parser.parse_args()
    parts = urlsplit(args.target)
    TARGET = (parts.hostname or "127.0.0.1", parts.port or 80)
    STATE["delay"] = args.delay_ms / 1000
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
