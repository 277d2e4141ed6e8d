"""Registration on the SQLite store: a model (reused), a version and its artifact at once.

A mixin of :class:`localhub.store.SQLiteStore`: one transaction writes the three rows and
their outbox rows, so a taken version name leaves nothing behind.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any, cast

from . import rows
from ._entities import SPECS, from_row, validated_values
from .db import Database
from .errors import DuplicateError, InvalidInputError
from .types import ModelArtifact, ModelVersion, RegisteredModel, SupportedTypes

__all__ = ["DEFAULTED_PREFIX", "RegisterRows", "defaulted_values", "record_defaulted"]


class RegisterRows:
    """``register_model`` and ``register`` (a mixin of ``SQLiteStore``)."""

    db: Database
    clock: Callable[[], int]

    def register_model(
        self,
        name: str,
        uri: str,
        *,
        version: str,
        model_format_name: str | None = None,
        model_format_version: str | None = None,
        author: str | None = None,
        owner: str | None = None,
        version_description: str | None = None,
        metadata: Mapping[str, SupportedTypes] | None = None,
        artifact_fields: Mapping[str, str | None] | None = None,
        defaulted: tuple[str, ...] = (),
    ) -> tuple[RegisteredModel, ModelVersion, ModelArtifact]:
        """Model (reused if it exists), version and artifact in ONE transaction.

        Raises ``DuplicateError`` ("Version X already exists") and leaves nothing behind when
        the version exists.
        """
        rows = self._register_rows(name, uri, version=version,
                                   model_format_name=model_format_name,
                                   model_format_version=model_format_version, author=author,
                                   owner=owner, version_description=version_description,
                                   metadata=metadata, artifact_fields=artifact_fields,
                                   defaulted=defaulted)
        return (
            cast(RegisteredModel, from_row(SPECS[RegisteredModel], rows[0])),
            cast(ModelVersion, from_row(SPECS[ModelVersion], rows[1])),
            cast(ModelArtifact, from_row(SPECS[ModelArtifact], rows[2])),
        )

    def register(self, name: str, uri: str, *, version: str, **options: Any) -> RegisteredModel:
        """``register_model`` returning only the model (what the facades return), without
        building the version and artifact objects."""
        rm_row = self._register_rows(name, uri, version=version, **options)[0]
        return cast(RegisteredModel, from_row(SPECS[RegisteredModel], rm_row))

    def _register_rows(
        self,
        name: str,
        uri: str,
        *,
        version: str,
        model_format_name: str | None = None,
        model_format_version: str | None = None,
        author: str | None = None,
        owner: str | None = None,
        version_description: str | None = None,
        metadata: Mapping[str, SupportedTypes] | None = None,
        artifact_fields: Mapping[str, str | None] | None = None,
        defaulted: tuple[str, ...] = (),
    ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        model = RegisteredModel(name=name, owner=owner)
        model_values = validated_values(SPECS[RegisteredModel], model)
        version_values = validated_values(
            SPECS[ModelVersion],
            ModelVersion(name=version, author=author, description=version_description,
                         custom_properties=metadata, registered_model_id="1"),
        )
        artifact_values = validated_values(
            SPECS[ModelArtifact],
            ModelArtifact(name=name, uri=uri, model_format_name=model_format_name,
                          model_format_version=model_format_version,
                          **cast("dict[str, Any]", dict(artifact_fields or {}))),
        )
        if artifact_values["uri"] is None:
            raise InvalidInputError("ModelArtifact.uri", "is required")
        with self.db.write() as conn:
            found = conn.execute(
                "SELECT * FROM contexts WHERE kind = ? AND parent_id = 0 AND name = ?",
                (RegisteredModel.kind, name),
            ).fetchone()
            rm_row = found if found is not None else rows.insert(
                conn, SPECS[RegisteredModel], model_values, parent=0, now=self.clock())
            version_values["registered_model_id"] = str(rm_row["id"])
            try:
                mv_row = rows.insert(conn, SPECS[ModelVersion], version_values,
                                     parent=rm_row["id"], now=self.clock())
            except DuplicateError as exc:
                raise DuplicateError(f"Version {version} already exists",
                                     entity="model version", key=f"{name}:{version}") from exc
            ma_row = rows.insert(conn, SPECS[ModelArtifact], artifact_values,
                                 parent=mv_row["id"], now=self.clock())
            if "owner" in defaulted and found is None and owner is not None:
                record_defaulted(conn, rm_row["uid"], {"owner": owner})
            if "author" in defaulted and author is not None:
                record_defaulted(conn, mv_row["uid"], {"author": author})
        return rm_row, mv_row, ma_row


#: ``meta`` key prefix of the fields a registration filled in by default, per entity uid.
DEFAULTED_PREFIX = "defaulted:"


def record_defaulted(conn: sqlite3.Connection, uid: str, values: Mapping[str, str]) -> None:
    """Record that ``values`` of entity ``uid`` are defaults, not the user's choice."""
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                 (DEFAULTED_PREFIX + uid, json.dumps(dict(values), sort_keys=True)))


def defaulted_values(conn: sqlite3.Connection, uid: str) -> dict[str, str]:
    """The fields of entity ``uid`` holding a default the user never set, with that value."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?",
                       (DEFAULTED_PREFIX + uid,)).fetchone()
    return {} if row is None else dict(json.loads(row[0]))
