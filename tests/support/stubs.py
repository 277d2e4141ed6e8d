"""What the security suite's fixtures hand out: a scripted stub server, TLS material."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Stub", "Tls"]


@dataclass
class Stub:
    """A running stub server: its URL and the requests it recorded."""

    url: str
    log: Path

    def requests(self) -> list[dict[str, object]]:
        """Every request received so far (method, path, headers)."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@dataclass(frozen=True)
class Tls:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost it signed, another CA."""

    ca: Path
    cert: Path
    key: Path
    other_ca: Path
