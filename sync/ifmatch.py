"""Whether a remote honours ``If-Match``: proven once by a probe, remembered per remote.

An ``ETag`` on an answer says nothing about whether a conditional PATCH is enforced: a server
(or a proxy in front of it) may send tags and ignore ``If-Match``. The one-request update
(PATCH with ``If-Match``, no GET) is only safe where a stale tag is known to be refused, so
the push uses it only after the remote answered **412 to a deliberately stale tag**.

The probe rides on an update the push makes anyway (GET, then the probe, then the PATCH): a
PATCH of the entity just read and verified as ours, with ``If-Match: "localhub-stale-probe"``
and a body holding only the ``state`` the GET returned. A server that honours ``If-Match``
answers 412 and writes nothing; one that ignores it writes the state the entity already has
(only its update time moves). The verdict is kept in ``sync_state(remote, "if_match")`` as
``{"honoured": bool, "checked_at": ms}`` and re-verified after :data:`TTL_MS`; a conditional
PATCH whose answer shows changes we did not send (the server cannot have checked the tag)
withdraws it at once.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from localhub.errors import RemotePreconditionError
from localhub.rest_client import Fetched

if TYPE_CHECKING:
    from localhub.types import BaseResource

    from .contract import LocalStore, RemoteClient
    from .ledger import Ledger

__all__ = ["KEY", "STALE_TAG", "TTL_MS", "IfMatch"]

#: The ``sync_state`` key of the verdict.
KEY = "if_match"
#: A tag no server computes (ours are hex digests): a server checking If-Match refuses it.
STALE_TAG = '"localhub-stale-probe"'
#: A verdict older than this (ms, the store's clock) is probed again.
TTL_MS = 24 * 3600 * 1000


class IfMatch:
    """The remote's If-Match verdict: read from the ledger, probed, recorded, withdrawn."""

    def __init__(self, store: LocalStore, ledger: Ledger) -> None:
        self.store, self.ledger = store, ledger
        self._lock = threading.Lock()

    def honoured(self) -> bool | None:
        """True / False as last proven; None when never probed or the verdict expired."""
        text = self.ledger.get_state(KEY)
        if text is None:
            return None
        verdict: dict[str, Any] = json.loads(text)
        if self.store.clock() - int(verdict.get("checked_at") or 0) > TTL_MS:
            return None
        return bool(verdict.get("honoured"))

    def record(self, honoured: bool) -> None:
        """Remember the verdict (now)."""
        value = json.dumps({"honoured": honoured, "checked_at": self.store.clock()})
        with self._lock, self.store.db.write() as conn:
            self.ledger.set_state(conn, KEY, value)

    def probe(self, remote: RemoteClient, cls: type[BaseResource], remote_id: str,
              current: Fetched) -> Fetched:
        """Probe with the entity just read (``current``, verified as ours); record the
        verdict. Returns the entity as it is now (the probe's answer when it was written)."""
        state = current.data.get("state") if isinstance(current.data, dict) else None
        body: dict[str, Any] = {} if state is None else {"state": state}
        try:
            written = remote.patch(cls, remote_id, body, if_match=STALE_TAG)
        except RemotePreconditionError:
            self.record(True)
            return current
        self.record(False)
        return written
