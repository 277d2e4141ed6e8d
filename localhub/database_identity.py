"""Which database a server serves, so that a client never syncs a database with itself.

``serve`` names its database in the ``X-Localhub-Database`` header of every answer, and
refuses (409) any request whose ``X-Localhub-Client-Database`` names the same one. The sync
engine sends its own database's identity and stops at the first answer that carries it.

The identity is a hash of the database's random ``database_uid`` and the file's device and
inode: the same file (through any path or link) gives the same identity; a copy of the file,
a new database or another machine does not. It says nothing about the contents.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

from .errors import RemoteIdentityError

if TYPE_CHECKING:
    from .store import SQLiteStore

__all__ = ["CLIENT_HEADER", "SERVER_HEADER", "database_identity", "refuse_same_database"]

SERVER_HEADER = "X-Localhub-Database"
CLIENT_HEADER = "X-Localhub-Client-Database"


def database_identity(store: SQLiteStore) -> str:
    """A stable, opaque identity of the database file behind ``store``."""
    uid = store.get_meta("database_uid") or ""
    try:
        info = os.stat(store.path)
        where = f"{info.st_dev}:{info.st_ino}"
    except (OSError, TypeError, ValueError):
        where = str(store.path)
    return hashlib.sha256(f"localhub-db:{uid}:{where}".encode()).hexdigest()[:32]


def refuse_same_database(store: SQLiteStore, remote: Any) -> None:
    """Make every request of ``remote`` (a RemoteRegistry) name ``store``'s database, and
    raise RemoteIdentityError on any answer from a server that serves that same database."""
    session = getattr(remote, "session", None)
    if session is None:
        return
    own = database_identity(store)
    session.headers[CLIENT_HEADER] = own

    def check(response: Any, *_args: Any, **_kwargs: Any) -> None:
        if response.headers.get(SERVER_HEADER) == own:
            raise RemoteIdentityError(
                f"the remote serves this very database ({store.path}), and a database synced "
                "with itself would empty its queue and pin itself as its upstream, so nothing "
                "was sent; sync with the team's registry, or serve another database file",
                expected="another database", found="this database")

    hooks = session.hooks["response"]
    if not any(getattr(hook, "localhub_database", None) == own for hook in hooks):
        check.localhub_database = own  # type: ignore[attr-defined]
        hooks.append(check)
