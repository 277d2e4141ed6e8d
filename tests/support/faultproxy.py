"""A tiny fault-injecting HTTP proxy, run as its own process in front of ``localhub serve``.

    python faultproxy.py --target http://127.0.0.1:PORT --port N

Every request is forwarded unchanged, logged (method, path, status) and counted. Rules, set
with ``POST /__proxy__/rules`` (a JSON list), act on the nth matching request from then on:

* ``{"match": "POST", "nth": 2, "action": "drop"}``: forward it, let the server apply it, then
  close the connection without replying (the "lost acknowledgement").
* ``"action": "refuse"``: close without forwarding. ``"action": "status"`` with ``"status"``
  and optional ``"retry_after"``: reply that status without forwarding.
* ``"delay"``: seconds to wait before answering.

* ``"reset"``: close without forwarding and with a TCP RST (SO_LINGER 0), a "connection reset".
* ``"timeout"``: hold the request ``seconds`` (default 3) without forwarding, then close: the
  client's read timeout fires first.
* ``"hold"`` with ``"phase": "before"|"after"`` and ``"seconds"``: wait before forwarding, or
  after the server has applied the request and before replying; the log shows
  ``"holding-before"``/``"holding-after"`` while it waits, so a test can kill the client there.

``POST /__proxy__/mode`` with ``{"fault_rate": 0.2, "seed": 1, "faults": [...],
"timeout_seconds": 3}`` injects a fault into that share of the requests, chosen at random from
``faults`` (default: refuse, reset, 500, 502, 503, 429, timeout, drop); the log records it.

``GET /__proxy__/log`` returns the log; ``POST /__proxy__/reset`` clears log and rules.
``GET /__proxy__/status`` returns ``{"in_flight": N}``: proxied requests not answered yet.
``POST /__proxy__/mode`` with ``{"v1_missing": true}`` makes the proxy an old server: every
``/api/model_registry/v1/...`` request gets a plain-text ``404 page not found`` (as the Go
server answers an unknown route) and ``v1alpha3`` paths are forwarded (reset clears the mode).
``{"drop_if_match": true}``: requests are forwarded without their ``If-Match`` header (a proxy
that strips it; the server's ETags still reach the client).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOCK = threading.Lock()
RULES: list[dict] = []
LOG: list[list] = []
MODE: dict = {}
IN_FLIGHT = [0]  # proxied requests received and not answered yet (a list: mutable under LOCK)
TARGET = ("127.0.0.1", 0)
RANDOM = random.Random(0)
DEFAULT_FAULTS = ["refuse", "reset", "500", "502", "503", "429", "timeout", "drop"]


def _random_fault() -> dict | None:
    """A rule for this request when random faults are on (caller holds LOCK)."""
    rate = float(MODE.get("fault_rate") or 0)
    if rate <= 0 or RANDOM.random() >= rate:
        return None
    fault = RANDOM.choice(MODE.get("faults") or DEFAULT_FAULTS)
    if fault == "429":
        return {"action": "status", "status": 429, "retry_after": "0"}
    if fault.isdigit():
        return {"action": "status", "status": int(fault)}
    if fault == "timeout":
        return {"action": "timeout", "seconds": float(MODE.get("timeout_seconds", 3))}
    return {"action": fault}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _control(self, body: bytes) -> bool:
        if not self.path.startswith("/__proxy__/"):
            return False
        with LOCK:
            if self.path == "/__proxy__/rules":
                for rule in json.loads(body or b"[]"):
                    rule["seen"] = 0
                    RULES.append(rule)
                out: object = {"ok": True}
            elif self.path == "/__proxy__/reset":
                RULES.clear()
                LOG.clear()
                MODE.clear()
                out = {"ok": True}
            elif self.path == "/__proxy__/mode":
                MODE.update(json.loads(body or b"{}"))
                if "seed" in MODE:
                    RANDOM.seed(MODE["seed"])
                out = dict(MODE)
            elif self.path == "/__proxy__/status":
                out = {"in_flight": IN_FLIGHT[0]}
            else:
                out = list(LOG)
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return True

    def _rule(self) -> dict | None:
        with LOCK:
            for rule in RULES:
                if rule.get("done"):
                    continue
                match = rule.get("match", "")
                if f"{self.command} {self.path}".startswith(match) or match == self.command:
                    rule["seen"] += 1
                    if rule["seen"] == rule.get("nth", 1):
                        rule["done"] = True
                        return rule
            return _random_fault()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self._control(body):
            return
        with LOCK:
            IN_FLIGHT[0] += 1
        try:
            self._proxy(body)
        finally:
            with LOCK:
                IN_FLIGHT[0] -= 1

    def _proxy(self, body: bytes) -> None:
        if MODE.get("v1_missing") and self.path.startswith("/api/model_registry/v1/"):
            data = b"404 page not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            with LOCK:
                LOG.append([self.command, self.path, 404])
            return
        rule = self._rule()
        if rule and rule.get("delay"):
            time.sleep(float(rule["delay"]))
        action = rule.get("action") if rule else None
        if action == "hold" and rule.get("phase", "before") == "before":
            self._hold(rule, "holding-before")
        if action == "reset":
            with LOCK:
                LOG.append([self.command, self.path, "reset"])
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if action == "timeout":
            with LOCK:
                LOG.append([self.command, self.path, "timeout"])
            time.sleep(float(rule.get("seconds", 3)))
            self.close_connection = True
            return
        if action == "refuse":
            with LOCK:
                LOG.append([self.command, self.path, "refused"])
            self.close_connection = True
            return
        if action == "status":
            status = int(rule["status"])
            data = json.dumps({"code": "injected", "message": f"injected {status}"}).encode()
            self.send_response(status)
            if rule.get("retry_after") is not None:
                self.send_header("Retry-After", str(rule["retry_after"]))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            with LOCK:
                LOG.append([self.command, self.path, status])
            return
        conn = http.client.HTTPConnection(*TARGET, timeout=30)
        dropped = ("if-match",) if MODE.get("drop_if_match") else ()
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "keep-alive", *dropped)}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if action == "hold" and rule.get("phase") == "after":
            self._hold(rule, "holding-after")
        with LOCK:
            LOG.append([self.command, self.path, resp.status if action != "drop" else "dropped"])
        if action == "drop":
            self.close_connection = True
            return
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length",
                                   "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _hold(self, rule: dict, what: str) -> None:
        with LOCK:
            LOG.append([self.command, self.path, what])
        time.sleep(float(rule.get("seconds", 5)))

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle


def main() -> None:
    global TARGET
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    parts = urlsplit(args.target)
    TARGET = (parts.hostname or "127.0.0.1", parts.port or 80)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
