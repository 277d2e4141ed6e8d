"""The interfaces the sync engine calls: the local store, the remote client, and the store
contract both of them share.

``LocalStore`` is what the engine uses of ``SQLiteStore`` (its database, clock, meta values
and the by-uid entity rows of :mod:`localhub.sync_rows`); ``RemoteClient`` is what it uses of
``RemoteRegistry``. ``RegistryStore`` is the part ``SQLiteStore`` (local) and
``RemoteRegistry`` (REST) share.

Both read and write registry entities by domain type, so the same contract tests
(``tests/sync/test_store_contract.py``) run against the SQLite file and a real
``localhub serve`` over REST. Ids are the implementation's own (local and remote ids differ).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from localhub.types import BaseResource

if TYPE_CHECKING:
    from localhub.db import Database
    from localhub.rest_client import Fetched
    from localhub.rest_requests import RequestDescription
    from localhub.store import Page
    from localhub.sync_rows import Local

__all__ = ["LocalStore", "RegistryStore", "RemoteClient"]

T = TypeVar("T", bound=BaseResource)


@runtime_checkable
class RegistryStore(Protocol):
    """Get, find, list, create and update registry entities by domain type."""

    def get(self, cls: type[T], entity_id: str | int) -> T | None:
        """The entity of type ``cls`` with this id; None when absent or of another type."""
        ...

    def find(self, cls: type[T], *, name: str | None = None,
             parent_id: str | int | None = None, external_id: str | None = None) -> T | None:
        """The one entity with this exact name (within ``parent_id``) and/or external id."""
        ...

    def list_page(self, cls: type[T], *, parent_id: str | int | None = None,
             filter_query: str | None = None, order_by: str | None = None,
             sort_order: str | None = None, page_size: int | None = None,
             page_token: str | None = None) -> Page[T]:
        """One page (``next_page_token`` to go on); no ``page_size``: every entity."""
        ...

    def create(self, entity: T, *, version_id: str | int | None = None) -> T:
        """Create ``entity`` (artifacts under ``version_id``); a taken name: DuplicateError."""
        ...

    def update(self, entity: T) -> T:
        """Write every mutable field of ``entity`` (found by its id)."""
        ...


class LocalStore(Protocol):
    """What the sync engine calls on the local store."""

    db: Database
    clock: Callable[[], int]

    @property
    def path(self) -> str: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def delete_meta(self, conn: sqlite3.Connection, key: str, value: str) -> None: ...

    def load(self, conn: sqlite3.Connection, table: str, uid: str) -> Local | None: ...

    def write_entity(self, conn: sqlite3.Connection, local: Local,
                     entity: BaseResource) -> None: ...

    def insert_pulled(self, conn: sqlite3.Connection, entity: BaseResource,
                      parent_row_id: int | None) -> tuple[str, int]: ...

    def queue_change(self, conn: sqlite3.Connection, local: Local, op: str,
                     names: list[str]) -> None: ...

    def attach_pulled(self, conn: sqlite3.Connection, uid: str, version_uid: str) -> None: ...

    def is_floating(self, conn: sqlite3.Connection, uid: str) -> bool: ...

    def descendant_uids(self, conn: sqlite3.Connection, uid: str) -> list[tuple[str, str]]: ...

    def model_of_artifact(self, conn: sqlite3.Connection, uid: str) -> str | None: ...

    def context_row_id(self, conn: sqlite3.Connection, uid: str) -> int | None: ...

    def natural_key_uid(self, conn: sqlite3.Connection, table: str, kind: str, parent: int,
                        name: str | None) -> str | None: ...

    def uid_and_origin(self, conn: sqlite3.Connection,
                       entity: BaseResource) -> tuple[str, str] | None: ...

    def syncable_uids(self, conn: sqlite3.Connection) -> list[tuple[str, str]]: ...

    def child_uids(self, conn: sqlite3.Connection, local: Local) -> list[tuple[str, str]]: ...

    def label_rows(self, conn: sqlite3.Connection, table: str,
                   uid: str) -> sqlite3.Row | None: ...


class RemoteClient(Protocol):
    """What the sync engine calls on the remote registry (``rest_client.RemoteRegistry``)."""

    base_url: str
    api: str
    requests_sent: int
    sent: Any

    def close(self) -> None: ...

    def clone(self) -> RemoteClient: ...

    @property
    def api_confirmed(self) -> bool: ...

    def describe(self, method: str, cls: type[BaseResource], *, remote_id: str | None = None,
                 parent_id: str | None = None, body: dict[str, Any] | None = None,
                 note: str | None = None) -> RequestDescription: ...

    def attach_artifact(self, version_id: str, body: dict[str, Any]) -> Fetched: ...

    def fetch(self, cls: type[T], remote_id: str) -> Fetched: ...

    def post(self, entity: BaseResource, *, parent_id: str | None = None) -> Fetched: ...

    def patch(self, cls: type[T], remote_id: str, body: dict[str, Any], *,
              if_match: str | None = None) -> Fetched: ...

    def find_model(self, name: str) -> Fetched | None: ...

    def find_serving_environment(self, name: str) -> Fetched | None: ...

    def find_version(self, name: str, model_id: str) -> Fetched | None: ...

    def find_artifact(self, name: str, version_id: str, kind: str) -> Fetched | None: ...

    def list_all(self, cls: type[BaseResource], *, page_size: int = 100,
                 **options: Any) -> Iterator[BaseResource]: ...
