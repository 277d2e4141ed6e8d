"""One upstream per database, and forgetting a remote.

Acknowledged outbox rows are deleted, so a change pushed to remote A would never reach remote
B. The database therefore syncs with one remote (pinned in ``meta.sync_upstream``); another
raises ``SyncUpstreamError``. ``reset_remote`` forgets a remote and unpins it.
"""

from __future__ import annotations

import sqlite3

from localhub import outbox
from localhub.errors import SyncUpstreamError

from .contract import LocalStore
from .ledger import Ledger
from .snapshot import snapshot

__all__ = ["UPSTREAM_KEY", "check_upstream", "pin_upstream", "reset_remote"]

UPSTREAM_KEY = "sync_upstream"


def check_upstream(store: LocalStore, remote: str) -> None:
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


def pin_upstream(store: LocalStore, remote: str) -> None:
    if store.get_meta(UPSTREAM_KEY) is None:
        store.set_meta(UPSTREAM_KEY, remote)


def reset_remote(store: LocalStore, url: str, *, requeue: bool = False) -> dict[str, int]:
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
        out.update(Ledger(store, url).forget(conn, store.clock()))
        store.delete_meta(conn, UPSTREAM_KEY, url)
        out["requeued"] = _requeue(store, conn) if requeue else 0
    return out


def _requeue(store: LocalStore, conn: sqlite3.Connection) -> int:
    queued = outbox.queued_creates(conn)
    count = 0
    for table, uid in store.syncable_uids(conn):
        if uid in queued:
            continue
        local = store.load(conn, table, uid)
        if local is None:
            continue
        names = [n for n, v in snapshot(local.entity).items() if v not in (None, {}, [])]
        store.queue_change(conn, local, "create", names)
        count += 1
    return count
