"""Connection limits for uvicorn: header deadline, concurrency, file descriptors.

uvicorn's h11 protocol starts its keep-alive timer only after a response, so a socket that
never finishes its request headers (idle, or a slowloris trickling one header a second)
would stay open for ever and, with enough of them, exhaust file descriptors or the
concurrency limit. :class:`GuardedH11Protocol` closes such sockets after
:data:`HEADER_TIMEOUT` seconds.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = [
    "HEADER_TIMEOUT",
    "KEEP_ALIVE_TIMEOUT",
    "MAX_HEADER_BYTES",
    "GuardedH11Protocol",
    "concurrency_limit",
    "raise_fd_limit",
    "uvicorn_options",
]

#: Seconds a connection may take to send complete request headers.
HEADER_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection stays open after a response.
KEEP_ALIVE_TIMEOUT = 5
#: Largest request line plus headers (h11's incomplete-event limit).
MAX_HEADER_BYTES = 32 * 1024
#: Most connections served at once; more get 503 until some close.
MAX_CONCURRENCY = 4096
#: File descriptors kept free for the database, logs and the listening socket.
_FD_RESERVE = 64


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the request line and headers."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _no_delay(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._header_deadline)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline(self) -> None:
        self._header_timer = None
        # IDLE: h11 has not seen a whole request line and header block yet.
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def _no_delay(transport: asyncio.Transport) -> None:
    """Send each write at once: uvicorn writes a response's headers and body separately, and
    with Nagle's algorithm the body waits for the client's delayed ACK (~40 ms a request)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # the peer is already gone


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard limit; returns the soft limit in force."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return MAX_CONCURRENCY + _FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        for target in (wanted, 10240):  # macOS refuses more than OPEN_MAX (10240)
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(target, wanted), hard))
                break
            except (ValueError, OSError):
                continue
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return int(soft) if soft != resource.RLIM_INFINITY else 1 << 20


def concurrency_limit(fd_limit: int) -> int:
    """Connections served at once: :data:`MAX_CONCURRENCY`, less when descriptors are few."""
    return max(16, min(MAX_CONCURRENCY, fd_limit - _FD_RESERVE))


def uvicorn_options(fd_limit: int) -> dict[str, Any]:
    """The uvicorn settings that bound slow, idle and oversized clients."""
    return {"http": GuardedH11Protocol, "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
            "limit_concurrency": concurrency_limit(fd_limit)}
