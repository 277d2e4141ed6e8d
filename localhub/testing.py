"""A real Model Registry for tests: ``running_server`` starts ``localhub serve`` on a free port.

Use it from unittest, notebooks and scripts; pytest users get the same through the
``localhub_server`` fixture (``localhub.pytest_plugin``)::

    with running_server() as server:
        registry = ModelRegistry("http://127.0.0.1", server.port, author="ci", is_secure=False)

The server runs the ``localhub serve`` command in a child process that also exits when its
parent dies (it watches its standard input), so a killed test run leaves no server behind.
Only the standard library is imported here until a server starts.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .bundle import ImportResult, import_bundle
from .client import ModelRegistryClient

__all__ = ["LocalhubServer", "running_server", "ServerStartError"]

#: The environment variable that hands the token to the child process (never its arguments).
TOKEN_ENV = "LOCALHUB_TESTING_TOKEN"
#: API base path of the Model Registry REST API (v1).
API_PATH = "/api/model_registry/v1"
_START_TIMEOUT = 60.0
_PORT_ATTEMPTS = 5


class ServerStartError(RuntimeError):
    """``localhub serve`` exited or did not answer its health check in time."""


class LocalhubServer:
    """A running ``localhub serve`` on 127.0.0.1: where it is, its database and its token."""

    host = "127.0.0.1"

    def __init__(self, proc: subprocess.Popen[bytes], port: int, db_path: Path,
                 token: str | None, log_path: Path) -> None:
        self._proc = proc
        self.port = port
        self.db_path = db_path
        #: The bearer token the server requires, or None.
        self.token = token
        self.log_path = log_path
        self._client: ModelRegistryClient | None = None

    def __repr__(self) -> str:  # never shows the token
        auth = "token required" if self.token else "no token"
        return f"LocalhubServer(url={self.url!r}, db_path={str(self.db_path)!r}, {auth})"

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:PORT`` (what ``kubeflow.hub`` takes)."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The v1 REST base: ``{url}/api/model_registry/v1``."""
        return self.url + API_PATH

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers a raw request needs: the bearer token when one is required."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def client(self) -> ModelRegistryClient:
        """A ``localhub.ModelRegistryClient`` on the same database, for assertions."""
        if self._client is None:
            self._client = ModelRegistryClient("http://127.0.0.1", port=self.port,
                                               author="localhub-testing", path=self.db_path)
        return self._client

    def reset(self) -> None:
        """Empty the registry (one transaction); the server keeps running and sees it at once."""
        self.client.store.clear()

    def load_bundle(self, path: str | os.PathLike[str]) -> ImportResult:
        """Import a bundle written by ``localhub export`` into the registry."""
        return import_bundle(self.client.store, Path(path))

    def log(self) -> str:
        """Everything the server wrote to its output so far."""
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        """Whether the server process is still alive."""
        return self._proc.poll() is None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and close the client."""
        if self._client is not None:
            self._client.store.close()
            self._client = None
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        if self._proc.stdin is not None:
            self._proc.stdin.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _spawn(db_path: Path, port: int, token: str | None, log_path: Path
           ) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "localhub.testing", "--port", str(port), "--db", str(db_path)]
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    if token is not None:
        cmd += ["--token-env", TOKEN_ENV]
        env[TOKEN_ENV] = token
    with open(log_path, "ab") as out:
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out,
                                stderr=subprocess.STDOUT, env=env)


def start_server(db_path: Path, *, token: str | None, log_path: Path) -> LocalhubServer:
    """Start ``localhub serve`` on ``db_path`` and a free port; return once it answers."""
    for _attempt in range(_PORT_ATTEMPTS):
        port = _free_port()
        proc = _spawn(db_path, port, token, log_path)
        server = LocalhubServer(proc, port, db_path, token, log_path)
        deadline = time.monotonic() + _START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if _healthy(server.url + "/readyz/health"):
                return server
            time.sleep(0.05)
        server.stop()
        text = server.log()
        if proc.returncode is not None and "address already in use" in text.lower():
            continue  # another process took the port between the probe and the bind
        raise ServerStartError(f"error: localhub serve did not start on port {port}; its "
                               f"output follows:\n{text}")
    raise ServerStartError(f"error: no free port found in {_PORT_ATTEMPTS} attempts; retry")


def new_token() -> str:
    """A random bearer token."""
    return secrets.token_urlsafe(24)


@contextmanager
def running_server(path: str | os.PathLike[str] | None = None, *,
                   token: str | bool | None = None) -> Iterator[LocalhubServer]:
    """A ``localhub serve`` on 127.0.0.1 and a free port for the duration of the block.

    ``path``: the database file to serve (kept afterwards); default a new empty one in a
    temporary folder, deleted afterwards. ``token``: a bearer token to require, or True for
    a random one (read it from ``server.token``).
    """
    secret = new_token() if token is True else (token or None)
    folder = Path(tempfile.mkdtemp(prefix="localhub-test-"))
    db_path = Path(path) if path is not None else folder / "registry.db"
    server = start_server(db_path, token=secret, log_path=folder / "serve.log")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _exit_with_parent() -> None:
    """Stop this process when the parent closes our standard input (it exited or died)."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn shuts down cleanly on SIGTERM
    time.sleep(10)
    os._exit(1)


def main(argv: list[str] | None = None) -> None:
    """``localhub serve`` with ``argv``, exiting when the parent process goes away."""
    # the command line loads in the server's child process only, not in the test process
    from localhub.cli.serve import serve

    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()
    serve.main(args=argv if argv is not None else sys.argv[1:], prog_name="localhub serve")


if __name__ == "__main__":
    main()
