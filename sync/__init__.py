"""The sync engine (installed as ``localhub.sync``): push the outbox, pull remote changes.

Modules: ``engine`` (``SyncEngine``, ``SyncReport``), ``plan`` (outbox coalesced, parents
first), ``push``, ``pull``, ``merge`` (pure three-way merge), ``conflicts`` (list/resolve),
``ledger`` (the only reader and writer of the ``sync_*`` tables), ``contract`` (the store and
remote interfaces the engine calls), ``backoff`` (the one retry policy), ``lock`` (one sync per
database and remote), ``snapshot``, ``uri_rewrite``, ``identity`` (the remote's pinned
anchor), ``upstream`` (one upstream per database, ``reset_remote``), ``status``
(``sync_status``, ``entity_sync_state``).
It never imports ``requests``: the REST client lives in :mod:`localhub.rest_client`.
"""

from __future__ import annotations

from .conflicts import Conflict, Value, list_conflicts, resolve, resolve_fields
from .contract import RegistryStore
from .engine import Progress, SyncEngine, SyncReport
from .merge import Merge, merge
from .status import entity_sync_state, sync_status
from .upstream import reset_remote
from .uri_rewrite import UriRewriter

__all__ = [
           "Conflict",
           "Merge",
           "Progress",
           "RegistryStore",
           "SyncEngine",
           "SyncReport",
           "UriRewriter",
           "Value",
           "entity_sync_state",
           "list_conflicts",
           "merge",
           "reset_remote",
           "resolve",
           "resolve_fields",
           "sync_status",
]
