"""Read-only lookups the pages need that no facade offers in one query: the listing's latest
version and sync state for a whole page of models at once (no query per row)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from localhub import outbox

from ...store import SQLiteStore
from ...types import ModelArtifact, ModelVersion

__all__ = ["ModelRow", "SYNC_WORDS", "like_filter", "page_details", "sync_word"]

#: Sync state of an entity or a model's whole tree, worst first.
SYNC_WORDS = ("conflict", "set aside", "queued", "synced")


@dataclass(frozen=True)
class ModelRow:
    """What the listing shows besides the model itself."""

    latest_version: str | None
    sync: str


def like_filter(text: str) -> str:
    """A filterQuery matching model names that contain ``text`` (any case)."""
    escaped = []
    for ch in text:
        if ch in "%_":
            escaped.append("\\" + ch)  # a LIKE wildcard taken literally
        elif ch == "\\":
            escaped.append("\\\\\\\\")  # one backslash after string and pattern unescaping
        elif ch in "'\"":
            escaped.append("\\" + ch)
        else:
            escaped.append(ch)
    return f"name ILIKE '%{''.join(escaped)}%'"


def sync_word(conflicts: int, set_aside: int, queued: int) -> str:
    """The one word for a sync state (the worst of its parts)."""
    if conflicts:
        return "conflict"
    if set_aside:
        return "set aside"
    if queued:
        return "queued"
    return "synced"


_DETAILS = """
WITH page(id) AS (SELECT value FROM json_each(:ids))
SELECT page.id AS model_id,
    (SELECT v.name FROM contexts AS v WHERE v.kind = :version AND v.parent_id = page.id
     ORDER BY v.create_time DESC, v.id DESC LIMIT 1) AS latest
FROM page
"""
_TREE = """
WITH page(id) AS (SELECT value FROM json_each(:ids))
SELECT m.id AS model_id, m.uid FROM contexts AS m JOIN page ON page.id = m.id
UNION ALL
SELECT v.parent_id, v.uid FROM contexts AS v JOIN page ON page.id = v.parent_id
WHERE v.kind = :version
UNION ALL
SELECT v.parent_id, a.uid FROM contexts AS v JOIN page ON page.id = v.parent_id
JOIN artifacts AS a ON a.version_id = v.id WHERE v.kind = :version
"""


def page_details(store: SQLiteStore, model_ids: list[str]) -> dict[str, ModelRow]:
    """Latest version and sync state of each model on a page, in a few queries (none per
    row): queued changes from the outbox, conflicts and set-aside items from the ledger."""
    if not model_ids:
        return {}
    from localhub.sync import ledger  # the sync package loads on first use, not at start-up

    params: dict[str, Any] = {"version": ModelVersion.kind,
                              "ids": json.dumps([int(i) for i in model_ids])}
    with store.db.read() as conn:
        rows = conn.execute(_DETAILS, params).fetchall()
        tree = conn.execute(_TREE, params).fetchall()
        uids = [str(row["uid"]) for row in tree]
        queued = outbox.counts_by_uid(conn, uids)
        sync = ledger.counts_by_uid(conn, uids)
    totals: dict[str, list[int]] = {str(row["model_id"]): [0, 0, 0] for row in rows}
    for row in tree:
        total = totals[str(row["model_id"])]
        conflicts, aside = sync.get(str(row["uid"]), (0, 0))
        total[0] += conflicts
        total[1] += aside
        total[2] += queued.get(str(row["uid"]), 0)
    return {str(row["model_id"]): ModelRow(row["latest"], sync_word(
        *totals[str(row["model_id"])])) for row in rows}


def model_artifact(artifacts: list[Any], model_name: str) -> ModelArtifact | None:
    """A version's model artifact: the one named like the model, else the first."""
    models = [a for a in artifacts if isinstance(a, ModelArtifact)]
    for artifact in models:
        if artifact.name == model_name:
            return artifact
    return models[0] if models else None
