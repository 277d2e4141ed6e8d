"""Forward migrations of the schema, applied with sqlite-utils ``Migrations`` on open.

Each migration is a function of a ``sqlite_utils.Database``; the set is applied inside the
caller's ``BEGIN IMMEDIATE`` transaction, so a failed migration leaves the file as it was.

The DDL is frozen SQL text: a migration, once released, must create the same schema forever,
whatever the table classes in ``localhub._tables`` say later (a change to them comes with a
new migration). ``tests/core/test_migrations.py`` checks that the migrated schema and the
table classes agree. Creating a file then needs neither sqlmodel nor SQLAlchemy. A data
migration carries its own conversion code for the same reason (it must rewrite the same
values forever, whatever the modules that write them do later).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from typing import Any

from sqlite_utils import Database as UtilsDatabase
from sqlite_utils.migrations import Migrations

__all__ = ["MIGRATIONS", "apply"]

MIGRATIONS = Migrations("localhub")

_0001_INITIAL = """
CREATE TABLE contexts (
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    external_id VARCHAR,
    description VARCHAR,
    state VARCHAR,
    attrs VARCHAR DEFAULT '{}' NOT NULL,
    custom_properties VARCHAR DEFAULT '{}' NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    uid VARCHAR NOT NULL,
    origin VARCHAR DEFAULT 'local' NOT NULL,
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER DEFAULT '0' NOT NULL,
    owner VARCHAR,
    author VARCHAR,
    UNIQUE (external_id),
    UNIQUE (uid)
);
CREATE UNIQUE INDEX contexts_natural_key ON contexts (kind, parent_id, name);
CREATE INDEX contexts_update_time ON contexts (kind, update_time, id);
CREATE TABLE artifacts (
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    external_id VARCHAR,
    description VARCHAR,
    state VARCHAR,
    attrs VARCHAR DEFAULT '{}' NOT NULL,
    custom_properties VARCHAR DEFAULT '{}' NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    uid VARCHAR NOT NULL,
    origin VARCHAR DEFAULT 'local' NOT NULL,
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    version_id INTEGER DEFAULT '0' NOT NULL,
    uri VARCHAR,
    UNIQUE (external_id),
    UNIQUE (uid)
);
CREATE UNIQUE INDEX artifacts_natural_key ON artifacts (kind, version_id, name)
    WHERE version_id != 0;
CREATE INDEX artifacts_update_time ON artifacts (update_time, id);
CREATE INDEX artifacts_version ON artifacts (version_id, id);
CREATE TABLE executions (
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    external_id VARCHAR,
    description VARCHAR,
    state VARCHAR,
    attrs VARCHAR DEFAULT '{}' NOT NULL,
    custom_properties VARCHAR DEFAULT '{}' NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    uid VARCHAR NOT NULL,
    origin VARCHAR DEFAULT 'local' NOT NULL,
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER DEFAULT '0' NOT NULL,
    UNIQUE (external_id),
    UNIQUE (uid)
);
CREATE UNIQUE INDEX executions_natural_key ON executions (kind, parent_id, name);
CREATE TABLE outbox (
    seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    entity_table VARCHAR NOT NULL,
    entity_kind VARCHAR NOT NULL,
    entity_uid VARCHAR NOT NULL,
    entity_id INTEGER NOT NULL,
    op VARCHAR NOT NULL,
    fields VARCHAR DEFAULT '[]' NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_entity ON outbox (entity_uid, seq);
CREATE TABLE meta (
    "key" VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    PRIMARY KEY ("key")
);
"""

_0002_SYNC = """
CREATE TABLE sync_links (
    remote VARCHAR NOT NULL,
    entity_uid VARCHAR NOT NULL,
    entity_table VARCHAR NOT NULL,
    remote_id VARCHAR NOT NULL,
    base VARCHAR NOT NULL,
    base_update_time INTEGER NOT NULL,
    base_hash VARCHAR NOT NULL,
    etag VARCHAR,
    PRIMARY KEY (remote, entity_uid)
);
CREATE UNIQUE INDEX sync_links_remote_id ON sync_links (remote, entity_table, remote_id);
CREATE TABLE sync_conflicts (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    remote VARCHAR NOT NULL,
    entity_uid VARCHAR NOT NULL,
    entity_table VARCHAR NOT NULL,
    entity_kind VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    fields VARCHAR NOT NULL,
    base VARCHAR NOT NULL,
    local VARCHAR NOT NULL,
    remote_values VARCHAR NOT NULL,
    remote_id VARCHAR,
    message VARCHAR,
    created_at INTEGER NOT NULL,
    resolved_at INTEGER,
    resolution VARCHAR
);
CREATE INDEX sync_conflicts_entity ON sync_conflicts (remote, entity_uid, resolved_at);
CREATE TABLE sync_state (
    remote VARCHAR NOT NULL,
    "key" VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    PRIMARY KEY (remote, "key")
);
CREATE TABLE sync_items (
    remote VARCHAR NOT NULL,
    entity_uid VARCHAR NOT NULL,
    create_attempted_at INTEGER,
    set_aside_at INTEGER,
    message VARCHAR,
    PRIMARY KEY (remote, entity_uid)
);
"""


def _script(db: UtilsDatabase, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@MIGRATIONS(name="0001_initial")
def _initial(db: UtilsDatabase) -> None:
    _script(db, _0001_INITIAL)
    db.table("meta").insert({"key": "database_uid", "value": uuid.uuid4().hex})


@MIGRATIONS(name="0002_sync")
def _sync(db: UtilsDatabase) -> None:
    """Sync bookkeeping: links with bases, conflicts, per-remote state, create markers."""
    _script(db, _0002_SYNC)


@MIGRATIONS(name="0003_sent")
def _sent(db: UtilsDatabase) -> None:
    """What an unacknowledged create or update sent, to recognise it after a lost reply."""
    _script(db, "ALTER TABLE sync_items ADD COLUMN sent VARCHAR;")


def _wire_cell(cell: Any) -> Any:
    """A custom property cell in the wire form: ``type`` becomes ``metadataType``."""
    if isinstance(cell, dict) and "type" in cell and "metadataType" not in cell:
        return {"metadataType": cell["type"], **{k: v for k, v in cell.items() if k != "type"}}
    return cell


def _wire_cells(side: Any) -> Any:
    """A snapshot or a conflict side (field -> value) with its property cells in wire form."""
    if not isinstance(side, dict):
        return side
    out = dict(side)
    for name, value in side.items():
        if name == "custom_properties" and isinstance(value, dict):
            out[name] = {k: _wire_cell(c) for k, c in value.items()}
        elif name.startswith("custom_properties."):
            out[name] = _wire_cell(value)
    return out


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=repr)


@MIGRATIONS(name="0004_wire_cells")
def _wire_cells_in_ledger(db: UtilsDatabase) -> None:
    """Custom properties in the sync tables' JSON (link bases, conflict sides, sent contents)
    take the wire cell form; a rewritten base gets the hash of its new text, so the next sync
    sees the content it saw before (no change, no conflict, no push)."""
    conn = db.conn
    for remote, uid, text in conn.execute(
            "SELECT remote, entity_uid, base FROM sync_links").fetchall():
        base = _wire_cells(json.loads(text))
        new = _canonical(base)
        if new != text:
            conn.execute("UPDATE sync_links SET base = ?, base_hash = ? WHERE remote = ? AND "
                         "entity_uid = ?", (new, hashlib.sha256(new.encode()).hexdigest(),
                                            remote, uid))
    for row in conn.execute(
            "SELECT id, base, local, remote_values FROM sync_conflicts").fetchall():
        sides = [_canonical(_wire_cells(json.loads(t))) for t in row[1:]]
        if sides != list(row[1:]):
            conn.execute("UPDATE sync_conflicts SET base = ?, local = ?, remote_values = ? "
                         "WHERE id = ?", (*sides, row[0]))
    for remote, uid, text in conn.execute(
            "SELECT remote, entity_uid, sent FROM sync_items WHERE sent IS NOT NULL").fetchall():
        sent = json.loads(text)
        new = _canonical([_wire_cells(s) for s in sent] if isinstance(sent, list) else sent)
        if new != text:
            conn.execute("UPDATE sync_items SET sent = ? WHERE remote = ? AND entity_uid = ?",
                         (new, remote, uid))


def apply(conn: sqlite3.Connection) -> None:
    """Apply every pending migration on ``conn`` (already inside a transaction)."""
    db = UtilsDatabase(conn)
    MIGRATIONS.apply(db)
