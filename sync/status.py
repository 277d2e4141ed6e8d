"""Where sync stands, from local data only: the whole database, or one entity."""

from __future__ import annotations

import json
from typing import Any

from localhub import outbox
from localhub.errors import NotFoundError
from localhub.types import BaseResource

from . import ledger
from .contract import LocalStore
from .identity import IDENTITY_KEY
from .plan import RANK, label_of
from .upstream import UPSTREAM_KEY
from .verify import KIND as MISMATCH

__all__ = ["NOT_SYNCED_REASON", "entity_sync_state", "sync_status"]

#: Why queued changes of inference services and serve models are never sent.
NOT_SYNCED_REASON = ("not synced by this version: an inference service names its model, "
                     "version and serving environment by ids of this database; the change "
                     "stays queued locally")


def sync_status(store: LocalStore, remote: str | None = None) -> dict[str, Any]:
    """Where sync stands, from local data only (no request). Keys (stable, see docs/sync.md):

    ``upstream``, ``queued`` (``changes``, ``entities``, ``by_kind`` -> op -> count),
    ``conflicts_open``, ``not_synced`` (queued kinds a sync never sends: ``kind``,
    ``changes``, ``reason``), ``set_aside`` (list of ``remote``, ``entity``, ``kind``, ``message``,
    ``since``), ``mismatched`` (links whose remote entity is not ours: ``remote``,
    ``conflict``, ``entity``, ``remote_id``, ``message``),
    ``held`` (pulled entities the store refused: ``remote``, ``entity``, ``kind``,
    ``remote_id``, ``message``, ``since``), ``remotes`` (url -> ``last_push``,
    ``last_pull``, ``identity``, ``links``, ``conflicts_open``). Times are epoch milliseconds
    or None.
    """
    remote = remote.rstrip("/") if remote else None
    out: dict[str, Any] = {"upstream": store.get_meta(UPSTREAM_KEY)}
    with store.db.read() as conn:
        by_kind = outbox.counts_by_kind(conn)
        out["queued"] = {"changes": sum(n for ops in by_kind.values() for n in ops.values()),
                         "entities": outbox.queued_entities(conn), "by_kind": by_kind}
        out["conflicts_open"] = ledger.count_open_conflicts(conn, remote=remote)
        out["not_synced"] = [{"kind": kind, "changes": sum(ops.values()),
                              "reason": NOT_SYNCED_REASON}
                             for kind, ops in by_kind.items() if kind not in RANK]
        aside = []
        for row in ledger.set_aside_rows(conn, remote):
            table = "contexts" if row["c_kind"] else "artifacts"
            label, _model = label_of(store, conn, table, row["entity_uid"])
            aside.append({"remote": row["remote"], "entity": label,
                          "kind": row["c_kind"] or row["a_kind"], "message": row["message"],
                          "since": int(row["set_aside_at"])})
        out["set_aside"] = aside
        out["mismatched"] = [
            {"remote": row["remote"], "conflict": int(row["id"]),
             "entity": label_of(store, conn, row["entity_table"], row["entity_uid"])[0],
             "remote_id": row["remote_id"], "message": row["message"]}
            for row in ledger.conflict_rows(conn, remote=remote) if row["kind"] == MISMATCH]
        out["held"] = [{"remote": h["remote"], "entity": f"{h['kind']} {h['remote_id']}",
                        "kind": h["kind"], "remote_id": h["remote_id"],
                        "message": h["message"], "since": int(h["since"])}
                       for h in ledger.held_rows(conn, remote)]
        urls = ledger.known_remotes(conn)
        if out["upstream"]:
            urls.add(out["upstream"])
        if remote is not None:
            urls = {remote}
        remotes: dict[str, Any] = {}
        for url in sorted(urls):
            state, links = ledger.remote_summary(conn, url)
            remotes[url] = {
                "last_push": int(state["last_push"]) if "last_push" in state else None,
                "last_pull": int(state["last_pull"]) if "last_pull" in state else None,
                "identity": json.loads(state[IDENTITY_KEY]) if IDENTITY_KEY in state else None,
                "links": links,
                "conflicts_open": ledger.count_open_conflicts(conn, remote=url),
            }
        out["remotes"] = remotes
    return out


def entity_sync_state(store: LocalStore, entity: BaseResource) -> dict[str, Any]:
    """Sync state of one entity, from local data only. Keys (stable): ``origin`` ("local" or
    "remote"), ``pending`` (queued outbox changes), ``pending_fields`` (their fields),
    ``remote_ids`` (remote URL -> id there), ``conflicts_open``, ``set_aside`` (message or None),
    ``mismatch`` (why its remote link is in doubt, or None).
    """
    with store.db.read() as conn:
        found = store.uid_and_origin(conn, entity)
        if found is None:
            raise NotFoundError(f"no {type(entity).__name__} with id {entity.id}")
        uid, origin = found
        pending, fields = outbox.changes_of(conn, uid)
        return {"origin": origin, "pending": pending, "pending_fields": sorted(fields),
                "remote_ids": ledger.remote_ids(conn, uid),
                "conflicts_open": ledger.count_open_conflicts(conn, uid=uid),
                "set_aside": ledger.set_aside_message(conn, uid),
                "mismatch": next((row["message"] for row in ledger.conflict_rows(conn)
                                  if row["entity_uid"] == uid and row["kind"] == MISMATCH),
                                 None)}
