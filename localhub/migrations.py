"""Forward migrations of the schema, applied with sqlite-utils ``Migrations`` on open.

Each migration is a function of a ``sqlite_utils.Database``; the set is applied inside the
caller's ``BEGIN IMMEDIATE`` transaction, so a failed migration leaves the file as it was.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence

from sqlite_utils import Database as UtilsDatabase
from sqlite_utils.migrations import Migrations

__all__ = ["MIGRATIONS", "apply"]

MIGRATIONS = Migrations("localhub")


def _ddl_for_tables(models: Sequence[type] | None = None) -> list[str]:
    """CREATE TABLE / CREATE INDEX statements compiled from the sqlmodel table models."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from ._tables import TABLES

    dialect = sqlite.dialect()
    statements: list[str] = []
    for model in TABLES if models is None else models:
        table = model.__table__  # type: ignore[attr-defined]
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    return statements


@MIGRATIONS(name="0001_initial")
def _initial(db: UtilsDatabase) -> None:
    for statement in _ddl_for_tables():
        db.execute(statement)
    db.table("meta").insert({"key": "database_uid", "value": uuid.uuid4().hex})


@MIGRATIONS(name="0002_sync")
def _sync(db: UtilsDatabase) -> None:
    """Sync bookkeeping: links with bases, conflicts, per-remote state, create markers."""
    from ._tables import SYNC_TABLES

    for statement in _ddl_for_tables(SYNC_TABLES):
        db.execute(statement)


def apply(conn: sqlite3.Connection) -> None:
    """Apply every pending migration on ``conn`` (already inside a transaction)."""
    db = UtilsDatabase(conn)
    MIGRATIONS.apply(db)
