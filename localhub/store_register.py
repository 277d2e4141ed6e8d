"""Registration on the SQLite store: a model (reused), a version and its artifact at once.

A mixin of :class:`localhub.store.SQLiteStore`: one transaction writes the three rows and
their outbox rows, so a taken version name leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from . import rows
from ._entities import SPECS, from_row, validated_values
from .db import Database
from .errors import DuplicateError, InvalidInputError
from .types import ModelArtifact, ModelVersion, RegisteredModel, SupportedTypes

__all__ = ["RegisterRows"]


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
    ) -> tuple[RegisteredModel, ModelVersion, ModelArtifact]:
        """Model (reused if it exists), version and artifact in ONE transaction.

        Raises ``DuplicateError`` ("Version X already exists") and leaves nothing behind when
        the version exists.
        """
        rows = self._register_rows(name, uri, version=version,
                                   model_format_name=model_format_name,
                                   model_format_version=model_format_version, author=author,
                                   owner=owner, version_description=version_description,
                                   metadata=metadata, artifact_fields=artifact_fields)
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
        return rm_row, mv_row, ma_row
