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
    ├── ServerExtraMissingError         ``localhub serve`` without the ``server`` extra
    ├── ConfigError                     ``config.toml`` or a remote definition is wrong
    ├── BundleError                     an export bundle is damaged or of an unknown format
    ├── ManifestError                   a drop-folder manifest is wrong (carries ``path``)
    └── KServeError                     a version cannot be turned into an InferenceService

``StoreError`` and ``DuplicateError`` keep the names of ``model_registry.exceptions``, and lookups
that the official client answers with ``ValueError`` raise a subclass of ``ValueError`` here too.
"""

from __future__ import annotations

__all__ = [
    "BundleError",
    "ConfigError",
    "DatabaseCorruptError",
    "DatabaseError",
    "DatabaseLockedError",
    "DatabasePermissionError",
    "DeleteNotAllowedError",
    "DuplicateError",
    "FilterQueryError",
    "InvalidInputError",
    "InvalidPageTokenError",
    "KServeError",
    "LocalHubError",
    "ManifestError",
    "ModelNotFoundError",
    "NotFoundError",
    "RemoteCertificateError",
    "RemoteProtocolError",
    "SchemaTooNewError",
    "ServerExtraMissingError",
    "StoreError",
    "model_missing",
    "version_missing",
    "version_taken",
]


# -- one wording per condition, for the CLI and every message that names a command ----------


def model_missing(name: str) -> str:
    """The words for a model that does not exist."""
    return f"no model named {name!r}; see `localhub models`"


def version_missing(name: str, version: str) -> str:
    """The words for a version that its (existing) model does not have."""
    return f"model {name!r} has no version {version!r}; see `localhub versions {name}`"


def version_taken(name: str, version: str, where: str = "") -> str:
    """The words for a version name its model already uses (``where``: `` at URI``)."""
    return (f"model {name!r} already has version {version!r}{where}; give another --version, "
            f"or change its URI with `localhub update {name} {version} --uri URI`")


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
        super().__init__(f"Model {name} does not exist")  # the official client's words
        self.name = name
        self.entity = "registered model"
        self.key = name


class DeleteNotAllowedError(StoreError):
    """Delete was asked for an entity that was already synced to a remote."""

    def __init__(self, entity: str, name: str) -> None:
        super().__init__(
            f"{entity} {name!r} was already synced to a remote and the Model Registry API has no "
            "delete: archive it instead (state ARCHIVED)"
        )
        self.entity = entity
        self.name = name


class DeleteInFlightError(DeleteNotAllowedError):
    """Delete was asked for an entity whose create a sync sent (or is sending) and the remote
    has not confirmed yet: deleting it could leave it on the remote only."""

    def __init__(self, entity: str, name: str, remote: str) -> None:
        StoreError.__init__(
            self,
            f"{entity} {name!r} is being sent to {remote} by a sync, or a sync stopped "
            "while sending it; wait for the sync to finish (or run `localhub sync`), then "
            "archive it there if it landed (or delete it if it did not)")
        self.entity = entity
        self.name = name
        self.remote = remote


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


class ConfigError(LocalHubError):
    """``config.toml`` does not parse, or a remote is missing or badly defined."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class BundleError(LocalHubError):
    """An export bundle is damaged (checksum, truncation) or of an unknown format."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class ManifestError(LocalHubError):
    """A drop-folder manifest cannot be used; ``path`` names the file."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


class KServeError(LocalHubError):
    """A model version lacks what a KServe InferenceService needs."""


class RemoteError(LocalHubError):
    """A remote Model Registry call failed; ``status`` is the HTTP status (0: no answer)."""

    #: Whether retrying the same call later may succeed.
    retryable: bool = False
    #: Why there was no usable answer, in a few words ("connection refused"), when known.
    reason: str = ""

    def __init__(self, message: str, *, status: int = 0, url: str = "",
                 retry_after: float | None = None, body: object = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.retry_after = retry_after
        self.body = body


class RemoteUnreachableError(RemoteError):
    """No answer: connection refused or reset, DNS, TLS handshake, timeout."""

    retryable = True


class RemoteUnavailableError(RemoteError):
    """5xx, 429 or 408: try again later (``retry_after`` seconds when the server said so)."""

    retryable = True


class RemoteAuthError(RemoteError):
    """401/403: the token is missing, wrong or lacks permissions."""


class RemoteCertificateError(RemoteError):
    """The remote's TLS certificate could not be verified: a setup problem, not an outage."""


class RemoteProtocolError(RemoteError):
    """A 2xx answer that is not what the call asks for (not JSON, wrong entity, no name)."""


class RemoteRejectedError(RemoteError):
    """400/422: the server refuses this request; ``message`` carries its reason."""


class RemoteNotFoundError(RemoteError):
    """404: the entity (or route) does not exist on the remote."""


class RemoteConflictError(RemoteError):
    """409: a name or external id is already taken on the remote."""


class RemotePreconditionError(RemoteError):
    """412: ``If-Match`` did not match; ``body`` holds the current entity when sent."""


class SyncError(LocalHubError):
    """The sync engine cannot run."""


class SyncLockedError(SyncError):
    """Another sync of the same database and remote is running."""


class RemoteIdentityError(SyncError):
    """The remote at this URL is not the server this database synced with before (it was
    re-created, or the URL now points at another registry). Nothing was sent; reset the
    remote's bookkeeping with ``localhub.sync.reset_remote(store, url)`` to start afresh."""

    def __init__(self, message: str, *, url: str = "", expected: object = None,
                 found: object = None) -> None:
        super().__init__(message)
        self.url = url
        self.expected = expected
        self.found = found


class SyncUpstreamError(SyncError):
    """The database already syncs with another remote (one upstream per database)."""

    def __init__(self, message: str, *, upstream: str = "", requested: str = "") -> None:
        super().__init__(message)
        self.upstream = upstream
        self.requested = requested
