"""The sync engine (installed as ``localhub.sync``): push the outbox, pull remote changes.

Modules: ``plan`` (outbox coalesced, parents first), ``push``, ``pull``, ``merge`` (pure
three-way merge), ``conflicts`` (list/resolve), ``engine`` (``SyncEngine``, ``SyncReport``),
``lock`` (one sync per database and remote), ``snapshot`` and ``state`` (bookkeeping).
It never imports ``requests``: the REST client lives in :mod:`localhub.remote`.
"""

from __future__ import annotations

from .conflicts import Conflict, list_conflicts, resolve
from .engine import SyncEngine, SyncReport
from .merge import Merge, merge

__all__ = [
           "Conflict",
           "Merge",
           "SyncEngine",
           "SyncReport",
           "list_conflicts",
           "merge",
           "resolve",
]
