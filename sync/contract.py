"""The store contract: what ``SQLiteStore`` (local) and ``RemoteRegistry`` (REST) share.

Both read and write registry entities by domain type, so the same contract tests
(``tests/sync/test_store_contract.py``) run against the SQLite file and a real
``localhub serve`` over REST. Ids are the implementation's own (local and remote ids differ).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from localhub.types import BaseResource

if TYPE_CHECKING:
    from localhub.store import Page

__all__ = ["RegistryStore"]

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

    def list(self, cls: type[T], *, parent_id: str | int | None = None,
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
