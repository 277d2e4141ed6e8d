"""The sync engine (installed as ``localhub.sync``): push the outbox, pull remote changes.

Modules: ``plan`` (outbox coalesced, parents first), ``push``, ``pull``, ``merge`` (pure
three-way merge), ``conflicts`` (list/resolve), ``engine`` (``SyncEngine``, ``SyncReport``),
``lock`` (one sync per database and remote), ``snapshot`` and ``state`` (bookkeeping),
``remotes`` (URI rewrite, identity pinning, one upstream, ``reset_remote``, ``sync_status``).
It never imports ``requests``: the REST client lives in :mod:`localhub.remote`.
"""

from __future__ import annotations

from .conflicts import Conflict, list_conflicts, resolve
from .contract import RegistryStore
from .engine import Progress, SyncEngine, SyncReport
from .merge import Merge, merge
from .remotes import UriRewriter, entity_sync_state, reset_remote, sync_status

__all__ = [
           "Conflict",
           "Merge",
           "Progress",
           "RegistryStore",
           "SyncEngine",
           "SyncReport",
           "UriRewriter",
           "entity_sync_state",
           "list_conflicts",
           "merge",
           "reset_remote",
           "resolve",
           "sync_status",
]
