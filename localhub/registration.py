"""One registration: a model (reused if it exists), a version and its artifact.

The one parameter list of ``register_model`` (the facades, the CLI and the drop folder build a
:class:`Registration` and write it through the store in one transaction).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .types import ModelArtifact, ModelVersion, RegisteredModel, SupportedTypes

if TYPE_CHECKING:
    from .store import SQLiteStore

__all__ = ["Registration"]


@dataclass(frozen=True)
class Registration:
    """What ``register_model`` writes: the model, version and artifact fields."""

    name: str
    uri: str
    version: str
    model_format_name: str | None = None
    model_format_version: str | None = None
    author: str | None = None
    owner: str | None = None
    version_description: str | None = None
    metadata: Mapping[str, SupportedTypes] | None = None
    storage_key: str | None = None
    storage_path: str | None = None
    service_account_name: str | None = None
    model_source_kind: str | None = None
    model_source_class: str | None = None
    model_source_group: str | None = None
    model_source_id: str | None = None
    model_source_name: str | None = None
    #: Fields :meth:`by` filled in (the user did not set them): a sync adopts the remote's
    #: values for them instead of calling a difference there a conflict.
    defaulted: tuple[str, ...] = ()

    def by(self, author: str | None) -> Registration:
        """This registration with ``author`` as its author and owner where they are unset."""
        filled = tuple(n for n in ("author", "owner") if getattr(self, n) is None and author)
        return replace(self, author=self.author or author, owner=self.owner or author,
                       defaulted=(*self.defaulted, *filled))

    def artifact_fields(self) -> dict[str, str | None]:
        """The artifact's optional fields (storage and model source)."""
        return {"storage_key": self.storage_key, "storage_path": self.storage_path,
                "service_account_name": self.service_account_name,
                "model_source_kind": self.model_source_kind,
                "model_source_class": self.model_source_class,
                "model_source_group": self.model_source_group,
                "model_source_id": self.model_source_id,
                "model_source_name": self.model_source_name}

    def write(self, store: SQLiteStore
              ) -> tuple[RegisteredModel, ModelVersion, ModelArtifact]:
        """Write the three entities in one transaction (DuplicateError for a taken version)."""
        return store.write_registration(self)

    def write_model(self, store: SQLiteStore) -> RegisteredModel:
        """:meth:`write`, returning only the model (without building the other objects)."""
        return store.write_registration_model(self)
