"""localhub: the Kubeflow Model Registry client API on a local SQLite file, with sync.

Change one import and code written for ``kubeflow.hub`` runs offline::

    from localhub import ModelRegistryClient
"""

from __future__ import annotations

from .client import ModelRegistryClient, StorageConfig
from .errors import (
    DatabaseCorruptError,
    DatabaseError,
    DatabaseLockedError,
    DatabasePermissionError,
    DeleteNotAllowedError,
    DuplicateError,
    FilterQueryError,
    InvalidInputError,
    InvalidPageTokenError,
    LocalHubError,
    ModelNotFoundError,
    NotFoundError,
    SchemaTooNewError,
    StoreError,
)
from .pager import ListOptions, OrderByField, Pager, SortOrder
from .registry import ModelRegistry
from .store import Page, PendingChange, SQLiteStore
from .types import (
    ArtifactState,
    ModelArtifact,
    ModelVersion,
    ModelVersionState,
    RegisteredModel,
    RegisteredModelState,
    StructValue,
    SupportedTypes,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "ModelRegistryClient",
    "ModelRegistry",
    "StorageConfig",
    "SQLiteStore",
    "Page",
    "PendingChange",
    "Pager",
    "ListOptions",
    "OrderByField",
    "SortOrder",
    "RegisteredModel",
    "ModelVersion",
    "ModelArtifact",
    "RegisteredModelState",
    "ModelVersionState",
    "ArtifactState",
    "StructValue",
    "SupportedTypes",
    "LocalHubError",
    "StoreError",
    "DuplicateError",
    "ModelNotFoundError",
    "DeleteNotAllowedError",
    "InvalidInputError",
    "NotFoundError",
    "FilterQueryError",
    "InvalidPageTokenError",
    "DatabaseError",
    "DatabaseLockedError",
    "DatabaseCorruptError",
    "DatabasePermissionError",
    "SchemaTooNewError",
]
