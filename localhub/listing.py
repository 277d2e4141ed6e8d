"""Listings of the SQLite store: keyset-paged queries, their pages and page tokens.

A page token is the last row's id and order value; ordering is by the order column then id, so
equal timestamps never skip or repeat rows across pages, and the same data always yields the
same tokens.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from .errors import InvalidPageTokenError

__all__ = ["OrderBy", "Page", "SortOrder", "decode_token", "encode_token", "page_rows"]

T = TypeVar("T")
OrderBy = Literal["ID", "CREATE_TIME", "LAST_UPDATE_TIME"]
SortOrder = Literal["ASC", "DESC"]

_ORDER_COLUMNS: dict[str, str] = {
    "ID": "id",
    "CREATE_TIME": "create_time",
    "LAST_UPDATE_TIME": "update_time",
}
#: Largest page size passed on to SQLite (its integers are 64-bit).
_MAX_PAGE = 2**62


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_page_token`` is empty on the last page."""

    items: list[T]
    next_page_token: str
    page_size: int


def encode_token(row_id: int, value: object) -> str:
    """The token that continues a listing after the row ``row_id`` of order value ``value``."""
    return base64.b64encode(f"{row_id}:{value}".encode()).decode()


def decode_token(token: str) -> tuple[int, int]:
    """(row id, order value) of a token; InvalidPageTokenError for anything else."""
    if len(token) > 1024:
        raise InvalidPageTokenError("invalid nextPageToken: longer than 1024 characters")
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True).decode("ascii")
        row_id, value = raw.split(":", 1)
        numbers = int(row_id), int(value)
        # Both go to SQLite as 64-bit integers: a forged larger one would not bind.
        if not all(t.removeprefix("-").isdigit() and len(t) <= 20 for t in (row_id, value)) \
                or not all(-(2**63) <= n < 2**63 for n in numbers):
            raise ValueError("not a token")
        return numbers
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidPageTokenError(
            f"invalid nextPageToken {token[:40]!r}: pass a token returned by a previous page, "
            "or none for the first page"
        ) from None


def page_rows(conn: sqlite3.Connection, table: str, clauses: list[str], params: list[Any], *,
              order_by: str | None, sort_order: str | None, page_size: int | None,
              page_token: str | None) -> tuple[list[sqlite3.Row], str]:
    """One keyset page of ``table`` (aliased ``t``) under ``clauses``: (rows, next token).

    No ``page_size`` (or one below 1) returns every matching row.
    """
    clauses, params = list(clauses), list(params)
    order_key = (order_by or "ID").upper()
    column = _ORDER_COLUMNS.get(order_key, "id")
    descending = (sort_order or "ASC").upper() == "DESC"
    if page_token:
        last_id, last_value = decode_token(page_token)
        op = "<" if descending else ">"
        if column == "id":
            clauses.append(f"t.id {op} ?")
            params.append(last_id)
        else:
            clauses.append(f"(t.{column} {op} ? OR (t.{column} = ? AND t.id {op} ?))")
            params.extend([last_value, last_value, last_id])
    direction = "DESC" if descending else "ASC"
    order_sql = (
        f"t.id {direction}" if column == "id" else f"t.{column} {direction}, t.id {direction}"
    )
    where = " AND ".join(clauses) or "1"
    sql = f"SELECT * FROM {table} AS t WHERE {where} ORDER BY {order_sql}"
    limit = page_size if page_size and page_size > 0 else None
    if limit is not None:
        limit = min(limit, _MAX_PAGE)  # any larger page is "everything" for SQLite
        sql += " LIMIT ?"
        params.append(limit + 1)
    rows = conn.execute(sql, params).fetchall()
    next_token = ""
    if limit is not None and len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_token = encode_token(last["id"], last[column])
    return rows, next_token
