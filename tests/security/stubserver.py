"""A scripted HTTP(S) server process for the security tests.

``python stubserver.py PORT LOG MODE [ARG] [--tls CERT KEY]`` answers every request and appends
``{"method", "path", "headers"}`` as one JSON line to LOG. MODE:

* ``redirect URL``: 307 to URL + the request path (another origin when URL says so);
* ``list``: 200 with an empty Model Registry list;
* ``html``: 200 with an HTML login page;
* ``json TEXT``: 200 with TEXT as an ``application/json`` body.
"""

from __future__ import annotations

import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main(argv: list[str]) -> None:
    """Serve until killed."""
    tls = None
    if "--tls" in argv:
        at = argv.index("--tls")
        tls = (argv[at + 1], argv[at + 2])
        argv = argv[:at]
    port, log, mode = int(argv[0]), argv[1], argv[2]
    arg = argv[3] if len(argv) > 3 else ""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"method": self.command, "path": self.path,
                                         "headers": dict(self.headers.items())}) + "\n")
            if mode == "redirect":
                self.send_response(307)
                self.send_header("Location", arg + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if mode == "html":
                body, kind = b"<html><body><form>Sign in</form></body></html>", "text/html"
            elif mode == "json":
                body, kind = arg.encode(), "application/json"
            else:
                body = json.dumps({"items": [], "size": 0, "pageSize": 1,
                                   "nextPageToken": ""}).encode()
                kind = "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
