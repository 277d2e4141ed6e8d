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
from .registration import Registration
from .types import ModelArtifact, ModelVersion, RegisteredModel

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
        artifact_fields: Mapping[str, str | None] | None = None,
        **options: Any,
    ) -> tuple[RegisteredModel, ModelVersion, ModelArtifact]:
        """Model (reused if it exists), version and artifact in ONE transaction; ``options``
        and ``artifact_fields`` are :class:`~localhub.registration.Registration`'s fields.

        Raises ``DuplicateError`` ("Version X already exists") and leaves nothing behind when
        the version exists.
        """
        return self.write_registration(Registration(
            name, uri, version, **options, **cast("dict[str, Any]", dict(artifact_fields or {}))))

    def write_registration(self, reg: Registration
                           ) -> tuple[RegisteredModel, ModelVersion, ModelArtifact]:
        """The three entities of ``reg``, written in one transaction."""
        rows_written = self._register_rows(reg)
        return (
            cast(RegisteredModel, from_row(SPECS[RegisteredModel], rows_written[0])),
            cast(ModelVersion, from_row(SPECS[ModelVersion], rows_written[1])),
            cast(ModelArtifact, from_row(SPECS[ModelArtifact], rows_written[2])),
        )

    def write_registration_model(self, reg: Registration) -> RegisteredModel:
        """:meth:`write_registration` returning only the model (what the facades return),
        without building the version and artifact objects."""
        return cast(RegisteredModel,
                    from_row(SPECS[RegisteredModel], self._register_rows(reg)[0]))

    def _register_rows(self, reg: Registration
                       ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        name, version, owner, author, defaulted = (reg.name, reg.version, reg.owner,
                                                   reg.author, reg.defaulted)
        model = RegisteredModel(name=name, owner=owner)
        model_values = validated_values(SPECS[RegisteredModel], model)
        version_values = validated_values(
            SPECS[ModelVersion],
            ModelVersion(name=version, author=author, description=reg.version_description,
                         custom_properties=reg.metadata, registered_model_id="1"),
        )
        artifact_values = validated_values(
            SPECS[ModelArtifact],
            ModelArtifact(name=name, uri=reg.uri, model_format_name=reg.model_format_name,
                          model_format_version=reg.model_format_version,
                          **cast("dict[str, Any]", reg.artifact_fields())),
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
