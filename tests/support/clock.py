"""Stepping the clock of a running ``localhub serve`` started with a ``clock-file`` quirk."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ServerClock"]


class ServerClock:
    """The offset file a quirky ``serve`` reads at every write (``clock-file=PATH``).

    ``quirk`` is the item to pass in ``start_serve(..., quirks=...)``; ``step(-3000)`` moves
    the server's clock 3 s back from where it stands, effective at its next write.
    """

    def __init__(self, path: Path, offset_ms: int = 0) -> None:
        self.path = path
        self.offset_ms = 0
        self.set(offset_ms)

    @property
    def quirk(self) -> str:
        """The ``LOCALHUB_SERVE_QUIRKS`` item naming this file."""
        return f"clock-file={self.path}"

    def set(self, offset_ms: int) -> None:
        """Put the server's clock ``offset_ms`` away from the real one."""
        # Replaced atomically: the server never reads a half-written number.
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(f"{offset_ms}\n")
        os.replace(tmp, self.path)
        self.offset_ms = offset_ms

    def step(self, delta_ms: int) -> None:
        """Move the server's clock by ``delta_ms`` (negative: back in time)."""
        self.set(self.offset_ms + delta_ms)
