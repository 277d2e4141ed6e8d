"""Remotes: URI rewrite rules, the remote's pinned identity, the one upstream per database,
``reset_remote`` and ``sync_status``.

* **URI rewrite** (push only): ``uri_map`` is an ordered list of ``(from_prefix, to_prefix)``;
  the first rule whose prefix starts an artifact's ``uri`` rewrites it. The remote receives the
  rewritten URI, the local artifact keeps its own; links store the remote's (rewritten) value,
  and comparisons use the rewritten local value, so the next sync sees no false change.
* **Identity**: on first contact the engine pins the remote's *anchor*: the remote id and
  ``createTimeSinceEpoch`` of the first registered model it linked (the remote has no delete,
  and a creation time never changes, so the pair identifies this server's database). Every run
  with an anchor first reads ``GET /registered_models/{id}``: a 404 or another creation time
  means a re-created or different server, and the run stops with ``RemoteIdentityError``.
* **One upstream per database**: acknowledged outbox rows are deleted, so a change pushed to
  remote A would never reach remote B. The database therefore syncs with one remote (pinned
  in ``meta.sync_upstream``); another raises ``SyncUpstreamError``. ``reset_remote`` unpins.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from localhub._entities import spec_for
from localhub.errors import InvalidInputError, NotFoundError, SyncUpstreamError
from localhub.store import SQLiteStore
from localhub.types import BaseResource

__all__ = ["UPSTREAM_KEY", "UriRewriter", "check_upstream", "pin_upstream", "reset_remote",
           "sync_status"]

UPSTREAM_KEY = "sync_upstream"
IDENTITY_KEY = "identity"


class UriRewriter:
    """Ordered prefix rules ``[(from, to), ...]``: the first matching rule wins."""

    def __init__(self, rules: Sequence[tuple[str, str]] | None) -> None:
        self.rules: list[tuple[str, str]] = []
        for rule in rules or ():
            if (not isinstance(rule, (tuple, list)) or len(rule) != 2
                    or not all(isinstance(x, str) and x for x in rule)):
                raise InvalidInputError("uri_map", "each rule is a pair of non-empty strings "
                                                   f"(from_prefix, to_prefix), got {rule!r}")
            self.rules.append((rule[0], rule[1]))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def rewrite(self, uri: str | None) -> dict[str, Any] | None:
        """``{"from", "to", "rule"}`` when a rule applies to ``uri``, else None."""
        if not uri:
            return None
        for src, dst in self.rules:
            if uri.startswith(src):
                return {"from": uri, "to": dst + uri[len(src):], "rule": [src, dst]}
        return None

    def apply(self, uri: str | None) -> str | None:
        found = self.rewrite(uri)
        return uri if found is None else str(found["to"])


# -- upstream ----------------------------------------------------------------------------------

def check_upstream(store: SQLiteStore, remote: str) -> None:
    """Raise SyncUpstreamError when the database already syncs with another remote."""
    upstream = store.get_meta(UPSTREAM_KEY)
    if upstream is not None and upstream != remote:
        raise SyncUpstreamError(
            f"this database syncs with {upstream}; it cannot also sync with {remote} (one "
            "upstream per database: changes acknowledged by one remote leave the queue and "
            "would never reach another). Use a separate database file for the other remote, "
            f"or move this one with `localhub remote reset {upstream}` "
            "(localhub.sync.reset_remote in Python).",
            upstream=upstream, requested=remote)


def pin_upstream(store: SQLiteStore, remote: str) -> None:
    if store.get_meta(UPSTREAM_KEY) is None:
        store.set_meta(UPSTREAM_KEY, remote)


def reset_remote(store: SQLiteStore, url: str, *, requeue: bool = False) -> dict[str, int]:
    """Forget everything the database knows about the remote at ``url``: links and bases,
    watermarks, the pinned identity, create markers, set-aside items and open conflicts
    (closed with resolution ``reset``), and the upstream pin when it names ``url``.

    Local entities and queued changes are kept. Changes the old remote acknowledged are no
    longer queued; ``requeue=True`` queues a create of every local model, version and
    artifact (in a version) that has none queued, so the next sync sends the whole local
    content to the (new) server, adopting entities that exist there with equal content.
    Returns counts of what was removed or queued.
    """
    url = url.rstrip("/")
    out: dict[str, int] = {}
    with store.db.write() as conn:
        for table in ("sync_links", "sync_state", "sync_items"):
            out[table] = conn.execute(f"DELETE FROM {table} WHERE remote = ?",
                                      (url,)).rowcount
        out["conflicts_closed"] = conn.execute(
            "UPDATE sync_conflicts SET resolved_at = ?, resolution = 'reset' WHERE remote = ? "
            "AND resolved_at IS NULL", (store.clock(), url)).rowcount
        conn.execute("DELETE FROM meta WHERE key = ? AND value = ?", (UPSTREAM_KEY, url))
        out["requeued"] = _requeue(store, conn) if requeue else 0
    return out


def _requeue(store: SQLiteStore, conn: Any) -> int:
    from localhub._entities import spec_for

    from .snapshot import snapshot
    from .state import Ledger

    ledger = Ledger(store, "")
    queued = {r[0] for r in conn.execute("SELECT entity_uid FROM outbox WHERE op = 'create'")}
    count = 0
    rows = [("contexts", r[0]) for r in conn.execute(
        "SELECT uid FROM contexts WHERE kind = 'registered-model' ORDER BY id")]
    rows += [("contexts", r[0]) for r in conn.execute(
        "SELECT uid FROM contexts WHERE kind = 'model-version' ORDER BY id")]
    rows += [("artifacts", r[0]) for r in conn.execute(
        "SELECT uid FROM artifacts WHERE version_id IS NOT NULL AND version_id != 0 "
        "ORDER BY id")]
    for table, uid in rows:
        if uid in queued:
            continue
        local = ledger.load(conn, table, uid)
        if local is None:
            continue
        names = [n for n, v in snapshot(local.entity).items() if v not in (None, {}, [])]
        store._record(conn, spec_for(local.entity), uid, local.row_id, "create", names)
        count += 1
    return count


# -- status ------------------------------------------------------------------------------------

def sync_status(store: SQLiteStore, remote: str | None = None) -> dict[str, Any]:
    """Where sync stands, from local data only (no request). Keys (stable, see docs/sync.md):

    ``upstream``, ``queued`` (``changes``, ``entities``, ``by_kind`` -> op -> count),
    ``conflicts_open``, ``set_aside`` (list of ``remote``, ``entity``, ``kind``, ``message``,
    ``since``), ``remotes`` (url -> ``last_push``, ``last_pull``, ``identity``, ``links``,
    ``conflicts_open``). Times are epoch milliseconds or None.
    """
    from .plan import Op, _label

    remote = remote.rstrip("/") if remote else None
    out: dict[str, Any] = {"upstream": store.get_meta(UPSTREAM_KEY)}
    with store.db.read() as conn:
        by_kind: dict[str, dict[str, int]] = {}
        changes = 0
        for kind, op, n in conn.execute(
                "SELECT entity_kind, op, count(*) FROM outbox GROUP BY entity_kind, op "
                "ORDER BY entity_kind, op"):
            by_kind.setdefault(kind, {})[op] = int(n)
            changes += int(n)
        entities = int(conn.execute(
            "SELECT count(DISTINCT entity_uid) FROM outbox").fetchone()[0])
        out["queued"] = {"changes": changes, "entities": entities, "by_kind": by_kind}
        where, params = ("", ()) if remote is None else (" AND remote = ?", (remote,))
        out["conflicts_open"] = int(conn.execute(
            "SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL" + where,
            params).fetchone()[0])
        aside = []
        for row in conn.execute("SELECT i.*, c.kind AS c_kind, a.kind AS a_kind FROM sync_items "
                                "i LEFT JOIN contexts c ON c.uid = i.entity_uid LEFT JOIN "
                                "artifacts a ON a.uid = i.entity_uid WHERE i.set_aside_at IS "
                                "NOT NULL" + where.replace("remote", "i.remote") +
                                " ORDER BY i.set_aside_at", params):
            table = "contexts" if row["c_kind"] else "artifacts"
            label, _model = _label(conn, Op(row["entity_uid"], table, "", False, set(), 0, 0))
            aside.append({"remote": row["remote"], "entity": label,
                          "kind": row["c_kind"] or row["a_kind"], "message": row["message"],
                          "since": int(row["set_aside_at"])})
        out["set_aside"] = aside
        urls: set[str] = set()
        for table in ("sync_state", "sync_links", "sync_conflicts"):
            urls.update(r[0] for r in conn.execute(f"SELECT DISTINCT remote FROM {table}"))
        if out["upstream"]:
            urls.add(out["upstream"])
        if remote is not None:
            urls = {remote}
        remotes: dict[str, Any] = {}
        for url in sorted(urls):
            state = dict(conn.execute("SELECT key, value FROM sync_state WHERE remote = ?",
                                      (url,)).fetchall())
            remotes[url] = {
                "last_push": int(state["last_push"]) if "last_push" in state else None,
                "last_pull": int(state["last_pull"]) if "last_pull" in state else None,
                "identity": json.loads(state[IDENTITY_KEY]) if IDENTITY_KEY in state else None,
                "links": int(conn.execute("SELECT count(*) FROM sync_links WHERE remote = ?",
                                          (url,)).fetchone()[0]),
                "conflicts_open": int(conn.execute(
                    "SELECT count(*) FROM sync_conflicts WHERE remote = ? AND resolved_at IS "
                    "NULL", (url,)).fetchone()[0]),
            }
        out["remotes"] = remotes
    return out


def entity_sync_state(store: SQLiteStore, entity: BaseResource) -> dict[str, Any]:
    """Sync state of one entity, from local data only. Keys (stable): ``origin`` ("local" or
    "remote"), ``pending`` (queued outbox changes), ``pending_fields`` (their fields),
    ``remote_ids`` (remote URL -> id there), ``conflicts_open``, ``set_aside`` (message or None).
    """
    table = spec_for(entity).table
    with store.db.read() as conn:
        row = conn.execute(f"SELECT uid, origin FROM {table} WHERE id = ?",
                           (int(entity.id or 0),)).fetchone()
        if row is None:
            raise NotFoundError(f"no {type(entity).__name__} with id {entity.id}")
        uid = row["uid"]
        fields: set[str] = set()
        pending = 0
        for (names,) in conn.execute("SELECT fields FROM outbox WHERE entity_uid = ?", (uid,)):
            pending += 1
            fields.update(json.loads(names))
        remote_ids = {link["remote"]: link["remote_id"] for link in conn.execute(
            "SELECT remote, remote_id FROM sync_links WHERE entity_uid = ? ORDER BY remote",
            (uid,))}
        conflicts = int(conn.execute(
            "SELECT count(*) FROM sync_conflicts WHERE entity_uid = ? AND resolved_at IS NULL",
            (uid,)).fetchone()[0])
        aside = conn.execute("SELECT message FROM sync_items WHERE entity_uid = ? AND "
                             "set_aside_at IS NOT NULL", (uid,)).fetchone()
    return {"origin": row["origin"], "pending": pending, "pending_fields": sorted(fields),
            "remote_ids": remote_ids, "conflicts_open": conflicts,
            "set_aside": aside["message"] if aside else None}
