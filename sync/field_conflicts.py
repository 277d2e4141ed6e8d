"""Recording the per-field conflicts of a three-way merge (push and pull write them alike)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from .merge import ABSENT

if TYPE_CHECKING:
    from .ledger import Ledger, Local
    from .run import Policy

__all__ = ["policy_resolution", "record_field_conflicts"]


def policy_resolution(policy: Policy) -> str | None:
    """How a conflict met under ``policy`` is settled: None (left open) for ``manual``."""
    return None if policy == "manual" else f"policy:{policy}"


def _clean(value: Any) -> Any:
    """A merge value as stored: an absent custom property is null."""
    return None if value is ABSENT else value


def record_field_conflicts(ledger: Ledger, conn: sqlite3.Connection, *, local: Local,
                           conflicts: dict[str, tuple[Any, Any, Any]], remote_id: str,
                           message: str, policy: Policy, kind: str = "update-update") -> int:
    """Record ``conflicts`` (field -> (base, local, remote), as :func:`.merge.merge` gives
    them) as one conflict of ``local`` with its remote twin ``remote_id``; its id."""
    names = sorted(conflicts)
    return ledger.add_conflict(
        conn, local=local, kind=kind, fields_=names,
        base={n: _clean(conflicts[n][0]) for n in names},
        mine={n: _clean(conflicts[n][1]) for n in names},
        theirs={n: _clean(conflicts[n][2]) for n in names},
        remote_id=remote_id, message=message, resolution=policy_resolution(policy))
