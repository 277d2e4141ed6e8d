"""Every error localhub raises, in one tree.

::

    LocalHubError
    ├── StoreError                      (official name: registry-level failures)
    │   ├── DuplicateError              a name or external id is taken
    │   ├── ModelNotFoundError          the registered model of a version lookup is missing
    │   └── DeleteNotAllowedError       delete of an entity that a remote already knows
    ├── InvalidInputError (ValueError)  a field breaks a rule (carries ``field`` and ``rule``)
    ├── NotFoundError (ValueError)      an entity asked for by name or id does not exist
    ├── FilterQueryError (ValueError)   a filterQuery does not parse (carries ``position``)
    ├── InvalidPageTokenError (ValueError)
    ├── DatabaseError                   the SQLite file cannot be used
    │   ├── DatabaseLockedError         another process held the lock past the timeout
    │   ├── DatabaseCorruptError        not a database, or damaged
    │   ├── DatabasePermissionError     the file or its folder is not writable
    │   └── SchemaTooNewError           written by a newer localhub
    └── ServerExtraMissingError         ``localhub serve`` without the ``server`` extra

``StoreError`` and ``DuplicateError`` keep the names of ``model_registry.exceptions``, and lookups
that the official client answers with ``ValueError`` raise a subclass of ``ValueError`` here too.
"""

from __future__ import annotations

__all__ = [
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
    "ServerExtraMissingError",
]


class LocalHubError(Exception):
    """Base of every error raised by localhub."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class StoreError(LocalHubError):
    """A registry operation failed (same name as ``model_registry.exceptions.StoreError``)."""


class DuplicateError(StoreError):
    """A name or external id is already taken."""

    def __init__(self, message: str, *, entity: str, key: str) -> None:
        super().__init__(message)
        self.entity = entity
        self.key = key


class ModelNotFoundError(StoreError):
    """The registered model named in a version or artifact lookup does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Model {name} does not exist")
        self.name = name


class DeleteNotAllowedError(StoreError):
    """Delete was asked for an entity that was already synced to a remote."""

    def __init__(self, entity: str, name: str) -> None:
        super().__init__(
            f"{entity} {name!r} was already synced to a remote and the Model Registry API has no "
            "delete: archive it instead (state ARCHIVED)"
        )
        self.entity = entity
        self.name = name


class InvalidInputError(LocalHubError, ValueError):
    """A value breaks one of the registry's rules; ``field`` and ``rule`` say which."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"invalid {field}: {rule}")
        self.field = field
        self.rule = rule


class NotFoundError(LocalHubError, ValueError):
    """An entity asked for by name or id does not exist."""

    def __init__(self, message: str, *, entity: str = "", key: str = "") -> None:
        super().__init__(message)
        self.entity = entity
        self.key = key


class FilterQueryError(LocalHubError, ValueError):
    """A filterQuery is malformed; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, *, query: str = "", position: int | None = None) -> None:
        super().__init__(message)
        self.query = query
        self.position = position


class InvalidPageTokenError(LocalHubError, ValueError):
    """A nextPageToken was not issued by this registry for this listing."""


class DatabaseError(LocalHubError):
    """The SQLite file cannot be used; ``path`` names it."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class DatabaseLockedError(DatabaseError):
    """Another process held the write lock for longer than the busy timeout."""


class DatabaseCorruptError(DatabaseError):
    """The file is not a localhub database or is damaged."""


class DatabasePermissionError(DatabaseError):
    """The file or its folder cannot be written."""


class SchemaTooNewError(DatabaseError):
    """The database was written by a newer localhub; it is left untouched."""


class ServerExtraMissingError(LocalHubError):
    """``localhub serve`` needs FastAPI and uvicorn."""
