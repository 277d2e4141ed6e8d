"""The SQLite schema, declared as sqlmodel table models.

These classes are the single definition of the tables: migrations compile them to DDL. The
hot read and write paths of the store use plain statements over the same columns (importing
sqlmodel costs about half a second, too much for a command-line lookup).

Row layout: one table per id sequence of the Model Registry (contexts: registered models,
model versions, serving environments, inference services; artifacts: every artifact type;
executions: serve models), common fields as columns, type-specific fields in ``attrs`` (JSON,
snake_case keys) and ``custom_properties`` as JSON ``{key: {"<kind>_value": value}}``.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, text
from sqlmodel import Field, SQLModel

__all__ = ["ContextRow", "ArtifactRow", "ExecutionRow", "OutboxRow", "MetaRow", "TABLES",
           "SyncLinkRow", "SyncConflictRow", "SyncStateRow", "SyncItemRow", "SYNC_TABLES"]


class _EntityColumns(SQLModel):
    """Columns every entity table has."""

    kind: str = Field(nullable=False)
    name: str = Field(nullable=False)
    external_id: str | None = Field(default=None, unique=True)
    description: str | None = None
    state: str | None = None
    attrs: str = Field(default="{}", nullable=False, sa_column_kwargs={"server_default": "{}"})
    custom_properties: str = Field(
        default="{}", nullable=False, sa_column_kwargs={"server_default": "{}"}
    )
    create_time: int = Field(nullable=False)
    update_time: int = Field(nullable=False)
    #: Local stable identity, never sent anywhere; the outbox and sync links refer to it.
    uid: str = Field(nullable=False, unique=True)
    #: Where the row came from: "local", or "remote" when pulled from a remote.
    origin: str = Field(
        default="local", nullable=False, sa_column_kwargs={"server_default": "local"}
    )


class ContextRow(_EntityColumns, table=True):
    """Registered models, model versions, serving environments, inference services."""

    __tablename__ = "contexts"
    __table_args__ = (
        Index("contexts_natural_key", "kind", "parent_id", "name", unique=True),
        Index("contexts_update_time", "kind", "update_time", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    #: Model version: its registered model; inference service: its serving environment.
    parent_id: int = Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})
    owner: str | None = None
    author: str | None = None


class ArtifactRow(_EntityColumns, table=True):
    """Model, doc, dataset, metric and parameter artifacts."""

    __tablename__ = "artifacts"
    __table_args__ = (
        Index(
            "artifacts_natural_key",
            "kind",
            "version_id",
            "name",
            unique=True,
            sqlite_where=text("version_id != 0"),
        ),
        Index("artifacts_version", "version_id", "id"),
        Index("artifacts_update_time", "update_time", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    #: The model version the artifact belongs to; 0 for a top-level artifact.
    version_id: int = Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})
    uri: str | None = None


class ExecutionRow(_EntityColumns, table=True):
    """Serve-model executions of inference services."""

    __tablename__ = "executions"
    __table_args__ = (
        Index("executions_natural_key", "kind", "parent_id", "name", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    #: The inference service.
    parent_id: int = Field(default=0, nullable=False, sa_column_kwargs={"server_default": "0"})


class OutboxRow(SQLModel, table=True):
    """One queued local change, written in the same transaction as the change itself."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("outbox_entity", "entity_uid", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    #: Entity table: contexts, artifacts or executions.
    entity_table: str = Field(nullable=False)
    entity_kind: str = Field(nullable=False)
    entity_uid: str = Field(nullable=False)
    entity_id: int = Field(nullable=False)
    #: "create" or "update" (a state change is an update of "state").
    op: str = Field(nullable=False)
    #: JSON list of the snake_case field names that changed.
    fields: str = Field(default="[]", nullable=False, sa_column_kwargs={"server_default": "[]"})
    created_at: int = Field(nullable=False)


class MetaRow(SQLModel, table=True):
    """Small facts about this database (its identity, the default remote)."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str = Field(nullable=False)


TABLES = [ContextRow, ArtifactRow, ExecutionRow, OutboxRow, MetaRow]


# -- sync (migration 0002) --------------------------------------------------------------------


class SyncLinkRow(SQLModel, table=True):
    """A local entity known to a remote: its remote id and the base last seen there."""

    __tablename__ = "sync_links"
    __table_args__ = (
        PrimaryKeyConstraint("remote", "entity_uid"),
        Index("sync_links_remote_id", "remote", "entity_table", "remote_id", unique=True),
    )

    #: The remote's base URL (normalised); never a token.
    remote: str = Field(nullable=False)
    entity_uid: str = Field(nullable=False)
    entity_table: str = Field(nullable=False)
    remote_id: str = Field(nullable=False)
    #: The remote's content as last seen (JSON, domain field names; see sync/snapshot.py).
    base: str = Field(default="{}", nullable=False)
    base_update_time: int = Field(default=0, nullable=False)
    base_hash: str = Field(default="", nullable=False)
    #: The remote's ETag for ``base`` when it sends one.
    etag: str | None = None


class SyncConflictRow(SQLModel, table=True):
    """A difference the engine would not decide alone; open until ``resolved_at`` is set."""

    __tablename__ = "sync_conflicts"
    __table_args__ = (
        Index("sync_conflicts_entity", "remote", "entity_uid", "resolved_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    remote: str = Field(nullable=False)
    entity_uid: str = Field(nullable=False)
    entity_table: str = Field(nullable=False)
    entity_kind: str = Field(nullable=False)
    #: update-update, create-different, remote-missing, archived-vs-edit.
    kind: str = Field(nullable=False)
    #: JSON list of the fields in conflict ("custom_properties.<key>" per property key).
    fields: str = Field(default="[]", nullable=False)
    base: str = Field(default="{}", nullable=False)
    local: str = Field(default="{}", nullable=False)
    #: The remote's values (JSON); named so to keep ``remote`` for the remote's URL.
    remote_values: str = Field(default="{}", nullable=False)
    remote_id: str | None = None
    message: str | None = None
    created_at: int = Field(nullable=False)
    resolved_at: int | None = None
    #: ours, theirs, value, policy:ours, policy:theirs.
    resolution: str | None = None


class SyncStateRow(SQLModel, table=True):
    """Per-remote facts: pull watermarks, last push/pull times."""

    __tablename__ = "sync_state"
    __table_args__ = (PrimaryKeyConstraint("remote", "key"),)

    remote: str = Field(nullable=False)
    key: str = Field(nullable=False)
    value: str = Field(nullable=False)


class SyncItemRow(SQLModel, table=True):
    """Per-remote push state of an entity: create attempted, or set aside with a message."""

    __tablename__ = "sync_items"
    __table_args__ = (PrimaryKeyConstraint("remote", "entity_uid"),)

    remote: str = Field(nullable=False)
    entity_uid: str = Field(nullable=False)
    #: Set (epoch ms) in a committed transaction BEFORE a create is sent: a retry looks the
    #: natural key up first.
    create_attempted_at: int | None = None
    #: Set when the remote rejected the operation (400/422) or its parent was set aside.
    set_aside_at: int | None = None
    message: str | None = None
    #: The content (snapshot JSON) of the create or update being sent, committed before the
    #: request: if its reply is lost, the next run recognises our own write on the remote
    #: (migration 0003).
    sent: str | None = None


SYNC_TABLES = [SyncLinkRow, SyncConflictRow, SyncStateRow, SyncItemRow]
