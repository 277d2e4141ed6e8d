"""The remote's pinned identity.

On first contact the engine pins the remote's *anchor*: the remote id and
``createTimeSinceEpoch`` of the first registered model it linked (the remote has no delete, and
a creation time never changes, so the pair identifies this server's database; the ledger writes
it in ``sync_state`` when it links that model). Every run with an anchor first reads
``GET /registered_models/{id}``: a 404 or another creation time means a re-created or different
server, and the run stops with ``RemoteIdentityError``.

Going back in time: the ledger also keeps the linked registered model of the highest id
(``sync_state`` ``newest``), and the probe reads that one instead of the anchor (still one
request). Absent, or created at another time: the server lost entities we saw, and a second
GET, of the anchor, tells a restore from an older backup (anchor intact: "went back in time")
from a re-created or different server. Either stops the run with ``RemoteIdentityError``.
"""

from __future__ import annotations

__all__ = ["IDENTITY_KEY", "NEWEST_KEY"]

#: The ``sync_state`` key of the anchor.
IDENTITY_KEY = "identity"
#: The ``sync_state`` key of the linked registered model of the highest remote id.
NEWEST_KEY = "newest"
