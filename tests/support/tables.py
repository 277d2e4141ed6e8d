"""Row counts of a database's tables, read over a separate raw connection (to prove what was
written, or that nothing was)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["count_rows", "snapshot"]


def count_rows(path: Path, table: str, where: str = "1", params: tuple[object, ...] = ()) -> int:
    """Row count of a table, read through a separate raw sqlite3 connection."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params)
                   .fetchone()[0])
    finally:
        conn.close()


def snapshot(path: Path) -> dict[str, int]:
    """Counts of every entity table and the outbox, to prove that nothing was written."""
    return {table: count_rows(path, table)
            for table in ("contexts", "artifacts", "executions", "outbox")}
