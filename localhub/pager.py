"""``Pager`` and ``ListOptions``, with the builder methods of ``model_registry.types``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from .types import BaseResource

__all__ = ["OrderByField", "SortOrder", "ListOptions", "Pager"]

T = TypeVar("T", bound=BaseResource)


class OrderByField(str, Enum):
    """Fields a listing can be ordered by."""

    CREATE_TIME = "CREATE_TIME"
    LAST_UPDATE_TIME = "LAST_UPDATE_TIME"
    ID = "ID"


class SortOrder(str, Enum):
    """Sort direction."""

    ASC = "ASC"
    DESC = "DESC"


@dataclass
class ListOptions:
    """Options for one listing request (``limit`` is the page size)."""

    limit: int | None = None
    order_by: OrderByField | None = None
    is_asc: bool = True
    next_page_token: str | None = None
    artifact_type_param: str | None = None
    #: localhub extension: a filterQuery applied to every page.
    filter_query: str | None = None

    @classmethod
    def order_by_creation_time(cls, **kwargs: object) -> ListOptions:
        """Options ordering by creation time."""
        return cls(order_by=OrderByField.CREATE_TIME, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def order_by_update_time(cls, **kwargs: object) -> ListOptions:
        """Options ordering by last update time."""
        return cls(order_by=OrderByField.LAST_UPDATE_TIME, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def order_by_id(cls, **kwargs: object) -> ListOptions:
        """Options ordering by id."""
        return cls(order_by=OrderByField.ID, **kwargs)  # type: ignore[arg-type]


@dataclass
class Pager(Generic[T], Iterator[T]):
    """Iterates over every item of a paged listing.

    ``page_fn`` fetches one page for the given options and stores the returned token in
    ``options.next_page_token``. Iteration ends when the listing wraps around to its first
    page, exactly as in the official client.
    """

    page_fn: Callable[[ListOptions], list[T]]
    options: ListOptions = field(default_factory=ListOptions)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> Pager[T]:
        """Start again from the first page, keeping the options."""
        self._start: str | None = None
        self._current_page: list[T] | None = None
        self._i = 0
        self.options.next_page_token = None
        return self

    def order_by_creation_time(self) -> Pager[T]:
        """Order by creation time (resets the pager)."""
        self.options.order_by = OrderByField.CREATE_TIME
        return self.restart()

    def order_by_update_time(self) -> Pager[T]:
        """Order by last update time (resets the pager)."""
        self.options.order_by = OrderByField.LAST_UPDATE_TIME
        return self.restart()

    def order_by_id(self) -> Pager[T]:
        """Order by id (resets the pager)."""
        self.options.order_by = OrderByField.ID
        return self.restart()

    def page_size(self, n: int) -> Pager[T]:
        """Fetch ``n`` items per request (resets the pager)."""
        if n < 1:
            raise ValueError(f"Page size must be at least 1, got {n}")
        self.options.limit = n
        return self.restart()

    def ascending(self) -> Pager[T]:
        """Ascending order (resets the pager)."""
        self.options.is_asc = True
        return self.restart()

    def descending(self) -> Pager[T]:
        """Descending order (resets the pager)."""
        self.options.is_asc = False
        return self.restart()

    def next_page(self) -> list[T]:
        """Fetch the next page (after the last page this wraps around to the first)."""
        return self.page_fn(self.options)

    def _needs_fetch(self) -> bool:
        return not self._current_page or (
            self._i >= len(self._current_page) and self._start is not None
        )

    def next_item(self) -> T:
        """The next item, without the wrap-around check (for manual iteration)."""
        if self._needs_fetch():
            self._current_page = self.next_page()
            self._i = 0
        if self._current_page is None or self._i >= len(self._current_page):
            raise StopIteration
        item = self._current_page[self._i]
        self._i += 1
        return item

    def __next__(self) -> T:
        check_looping = self._needs_fetch()
        item = self.next_item()
        if self._start is None:
            self._start = self.options.next_page_token
        elif check_looping and self.options.next_page_token == self._start:
            raise StopIteration
        return item

    def __iter__(self) -> Iterator[T]:
        return self
