"""``localhub serve``: the Model Registry REST API (v1 and v1alpha3) over a local store.

FastAPI and uvicorn (and the modules of the app) are imported only when an app is built, so
``import localhub`` and the command line stay fast and work without the ``server`` extra.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import LocalHubError, ServerExtraMissingError
from ..store import SQLiteStore

if TYPE_CHECKING:
    from fastapi import FastAPI

    from .quirks import Quirks

__all__ = ["PortInUseError", "create_app", "run"]

_HINT = "localhub serve needs FastAPI and uvicorn: pip install 'localhub[server]'"


def _require_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ServerExtraMissingError(f"{_HINT} ({exc})") from exc


class PortInUseError(LocalHubError):
    """The port ``serve`` should listen on is taken by another process."""


def create_app(store: SQLiteStore, *, token: str | None = None, bind: str = "127.0.0.1",
               allow_hosts: Sequence[str] = (), max_body: int | None = None,
               quirks: Quirks | None = None) -> FastAPI:
    """The REST app over ``store``; with ``token``, every API call needs that bearer token.

    Requests must name the server in ``Host`` (``bind``, localhost, 127.0.0.1, [::1] or one of
    ``allow_hosts``); bodies are at most ``max_body`` bytes (default: a few MiB). ``quirks``
    (tests only) emulates a real central registry's quirks (:mod:`localhub.server.quirks`).
    """
    _require_extra()
    from .app import build_app
    from .guard import DEFAULT_MAX_BODY

    return build_app(store, token=token, bind=bind, allow_hosts=allow_hosts,
                     max_body=DEFAULT_MAX_BODY if max_body is None else max_body,
                     quirks=quirks)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (PortInUseError when it is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if host == "localhost":
        host = "127.0.0.1"
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Not on Windows: there SO_REUSEADDR would let two servers share a port.
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise PortInUseError(f"port {port} is in use; choose another with --port") from None
        raise
    sock.set_inheritable(True)
    return sock


def run(db_path: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8080,
        token_env: str | None = None, *, allow_hosts: Sequence[str] = (),
        max_body: int | None = None, ready: Callable[[int], None] | None = None,
        quirks: Quirks | None = None, **uvicorn_options: Any) -> None:
    """Serve the store at ``db_path`` until interrupted (token read from env ``token_env``);
    ``ready`` is called with the port once it is bound. ``quirks`` (tests only) also shifts
    the store's clock.

    Raises the open-file soft limit to the hard limit first, and runs uvicorn with deadlines
    for headers and bodies and a concurrency limit (see :mod:`localhub.server.limits`).
    """
    _require_extra()
    import uvicorn

    from .app import configure_logging
    from .limits import raise_fd_limit
    from .limits import uvicorn_options as limit_options

    token = None
    if token_env:
        token = os.environ.get(token_env) or None
        if token is None:
            raise ValueError(f"environment variable {token_env} is unset or empty")
    sock = _listen(host, port)  # a port in use fails before the database is touched
    try:
        store = (SQLiteStore(db_path) if quirks is None
                 else SQLiteStore(db_path, clock=quirks.clock))
        store.db.connection()  # opened (and migrated) now: a bad file is refused up front
    except BaseException:
        sock.close()
        raise
    # Announced once the database opened: a "serving" line is never followed by its refusal.
    if ready is not None:
        ready(int(sock.getsockname()[1]))
    configure_logging()
    try:
        app = create_app(store, token=token, bind=host, allow_hosts=allow_hosts,
                         max_body=max_body, quirks=quirks)
        options = {**limit_options(raise_fd_limit()), **uvicorn_options}
        config = uvicorn.Config(app, access_log=False, log_level="warning", **options)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        store.close()
