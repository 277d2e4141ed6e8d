"""The history of sync runs that ``localhub log`` lists (when, remote, counts, outcome).

Each run of ``localhub sync`` (once or ``--every``; not ``--dry-run``) and each **Sync now** of
the web pages appends one record to a short history kept in the database's ``meta`` table (the
last :data:`KEEP` runs, as JSON), so that it travels with the file and needs no schema change.
"""

from __future__ import annotations

import json
import time
from typing import Any

__all__ = ["HISTORY_KEY", "KEEP", "load_history", "record_run"]

HISTORY_KEY = "sync_history"
KEEP = 100
_COUNTS = ("created", "adopted", "updated", "pulled", "conflicts", "set_aside", "remaining")
_OUTCOMES = {0: "synced", 1: "error", 3: "conflicts", 4: "unreachable", 130: "interrupted"}


def record_run(store: Any, remote: str, code: int, report: dict[str, Any] | None,
               error: str | None, started_ms: int) -> None:
    """Append one run to the history (in one write transaction; the oldest runs drop off)."""
    entry: dict[str, Any] = {
        "time": started_ms, "remote": remote, "exit_code": code,
        "outcome": _OUTCOMES.get(code, "error"),
        "seconds": round(max(0, int(time.time() * 1000) - started_ms) / 1000, 3),
        "error": error}
    entry.update({key: int((report or {}).get(key) or 0) for key in _COUNTS})
    with store.db.write() as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (HISTORY_KEY,)).fetchone()
        runs = _parse(None if row is None else str(row[0]))
        runs = (runs + [entry])[-KEEP:]
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                     "SET value = excluded.value", (HISTORY_KEY, json.dumps(runs)))


def _parse(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def load_history(store: Any) -> list[dict[str, Any]]:
    """The recorded runs, oldest first."""
    return _parse(store.get_meta(HISTORY_KEY))
