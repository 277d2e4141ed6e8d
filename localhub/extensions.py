"""``RegistryExtensions``: what both facades add to the official API, written once.

``ModelRegistry`` and ``ModelRegistryClient`` mirror two official clients whose signatures
differ; what localhub adds (lookups that raise, archive / restore / delete, batch, the queue,
sync and conflicts) is the same on both and lives here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError, ModelNotFoundError, NotFoundError
from .store import PendingChange, SQLiteStore, Synced
from .types import ModelVersion, ModelVersionState, RegisteredModel, RegisteredModelState

if TYPE_CHECKING:  # the sync engine loads on the first sync() call, not at import
    from .sync.conflicts import Conflict
    from .sync.engine import Policy, SyncReport

__all__ = ["RegistryExtensions", "SyncTarget"]

# (url, TLS verification, token) of one sync run.
SyncTarget = tuple[str, "bool | str", "str | None"]


def _request_reporter(on_request: Callable[[str, str, int, float], None]
                      ) -> Callable[..., None]:
    """A ``requests`` response hook that reports method, path, status and duration."""
    def hook(resp: Any, *args: Any, **kwargs: Any) -> None:
        request = resp.request
        path = str(request.path_url or "").split("?", 1)[0]
        on_request(str(request.method), path, int(resp.status_code),
                   resp.elapsed.total_seconds())

    return hook


class RegistryExtensions(ABC):
    """The localhub extensions of both facades, over :attr:`store`."""

    @property
    @abstractmethod
    def store(self) -> SQLiteStore:
        """The local store."""

    @abstractmethod
    def _sync_target(self, remote: str | None, verify: bool | str | None,
                     token: str | None) -> SyncTarget:
        """The URL, TLS verification and token of a sync with ``remote`` (default: the
        facade's address), each argument given or defaulted from the facade."""

    # -- lookups that raise ---------------------------------------------------------------

    def require_model(self, name: str) -> RegisteredModel:
        """The model named ``name``; ``NotFoundError`` (a ``ValueError``) if there is none."""
        model = self.store.find(RegisteredModel, name=name)
        if model is None:
            raise NotFoundError(f"Model {name!r} not found", entity="registered model", key=name)
        return model

    def require_version(self, name: str, version: str) -> ModelVersion:
        """A model's version; ``ModelNotFoundError`` (a ``StoreError``) without the model,
        ``NotFoundError`` (a ``ValueError``) without the version."""
        exists, found = self.store.find_version(name, version)
        if not exists:
            raise ModelNotFoundError(name)
        if found is None:
            raise NotFoundError(f"Model version {version!r} not found for model {name!r}",
                                entity="model version", key=f"{name}:{version}")
        return found

    # -- writes -------------------------------------------------------------------------------

    def batch(self) -> AbstractContextManager[None]:
        """Group many writes into one transaction and one durable commit.

        ``with registry.batch(): ...`` registers or updates many models at the cost of one
        commit: each call inside succeeds or fails on its own, everything becomes durable (and
        visible to other processes) when the block ends, and an exception escaping the block
        undoes the whole batch.
        """
        return self.store.batch()

    def pending(self) -> list[PendingChange]:
        """The queued local changes no remote has acknowledged yet, oldest first."""
        return self.store.pending()

    def archive_model(self, name: str) -> RegisteredModel:
        """Set a model's state to ARCHIVED (the registry has no delete)."""
        return self._set_model_state(name, RegisteredModelState.ARCHIVED)

    def restore_model(self, name: str) -> RegisteredModel:
        """Set an archived model's state back to LIVE."""
        return self._set_model_state(name, RegisteredModelState.LIVE)

    def archive_model_version(self, name: str, version: str) -> ModelVersion:
        """Set a version's state to ARCHIVED."""
        return self._set_version_state(name, version, ModelVersionState.ARCHIVED)

    def restore_model_version(self, name: str, version: str) -> ModelVersion:
        """Set an archived version's state back to LIVE."""
        return self._set_version_state(name, version, ModelVersionState.LIVE)

    def delete_model(self, name: str) -> None:
        """Delete a never-synced model with its versions and queued changes
        (``DeleteNotAllowedError`` once a remote knows it)."""
        self.store.delete(self.require_model(name), synced=_linked())

    def delete_model_version(self, name: str, version: str) -> None:
        """Delete a never-synced version with its artifacts and queued changes."""
        self.store.delete(self.require_version(name, version), synced=_linked())

    # Read and write in one transaction: another process's edit committed in between would
    # otherwise be written back to its old value.
    def _set_model_state(self, name: str, state: RegisteredModelState) -> RegisteredModel:
        with self.store.batch():
            model = self.require_model(name)
            model.state = state
            return self.store.update(model)

    def _set_version_state(self, name: str, version: str, state: ModelVersionState
                           ) -> ModelVersion:
        with self.store.batch():
            found = self.require_version(name, version)
            found.state = state
            return self.store.update(found)

    # -- sync -------------------------------------------------------------------------------

    def sync(self, remote: str | None = None, *, push: bool = True, pull: bool = True,
             on_conflict: Policy = "manual", dry_run: bool = False, token: str | None = None,
             models: Sequence[str] | None = None,
             uri_map: Sequence[tuple[str, str]] | None = None,
             verify: bool | str | None = None,
             progress: Callable[[str, int, int], None] | None = None,
             allow_insecure_token: bool = False,
             on_request: Callable[[str, str, int, float], None] | None = None,
             **engine_options: Any) -> SyncReport:
        """Push queued changes to ``remote`` (default: this facade's address) and pull its
        changes; returns a ``localhub.sync.SyncReport``.

        The token (default: ``user_token``, else the official client's token file) is used
        for this call only and never stored, nor sent over plain http to another machine
        unless ``allow_insecure_token``. ``on_conflict`` is ``"manual"``, ``"ours"`` or
        ``"theirs"``; ``dry_run`` returns the plan without sending or writing anything;
        ``models`` limits push and pull to these model names; ``uri_map`` is a list of
        ``(from_prefix, to_prefix)`` artifact URI rewrites applied on push; ``verify`` is the
        TLS verification (True, False or a CA bundle path; default: ``custom_ca`` or True);
        ``progress(phase, done, total)`` is called as the run advances;
        ``on_request(method, path, status, seconds)`` after each answer (the path without
        query; no header, so never the token).
        """
        from .rest_client import RemoteRegistry
        from .sync import SyncEngine

        url, verify, token = self._sync_target(remote, verify, token)
        client = RemoteRegistry(url, token=token, verify=verify,
                                allow_insecure_token=allow_insecure_token)
        if on_request is not None:
            client.session.hooks["response"].append(_request_reporter(on_request))
        try:
            engine = SyncEngine(self.store, client, on_conflict=on_conflict,
                                models=models, uri_map=uri_map, progress=progress,
                                **engine_options)
            return engine.run(push=push, pull=pull, dry_run=dry_run)
        finally:
            client.close()

    def sync_status(self) -> dict[str, Any]:
        """Queued changes, open conflicts, set-aside items and per-remote last push / pull
        (``localhub.sync.sync_status``); local data only."""
        from .sync import sync_status

        status: dict[str, Any] = sync_status(self.store)
        return status

    def conflicts(self, *, include_resolved: bool = False) -> list[Conflict]:
        """Sync conflicts (open ones unless ``include_resolved``), oldest first."""
        from .sync import list_conflicts

        return list(list_conflicts(self.store, include_resolved=include_resolved))

    def resolve(self, conflict_id: int, choice: str | None = None, value: Any = None, *,
                fields: Mapping[str, Any] | None = None) -> Conflict:
        """Resolve a sync conflict: ``"ours"``, ``"theirs"``, an explicit ``value``, or
        field by field: ``fields`` maps each of its fields (a custom property by its key) to
        ``"ours"``, ``"theirs"`` or a value (``localhub.sync.conflicts.Value("ours")`` for
        that string itself), as ``localhub.sync.resolve_fields`` does."""
        from .sync import resolve, resolve_fields

        if fields is not None:
            if choice is not None or value is not None:
                raise InvalidInputError("fields", "give fields, or a choice, not both")
            return resolve_fields(self.store, conflict_id, fields)
        if value is not None and choice != "value":
            choice = "value"
        if choice is None:
            raise InvalidInputError("choice", "must be ours, theirs or value (or give fields)")
        return resolve(self.store, conflict_id, choice, value)


def _linked() -> Synced:
    """The ledger's delete guard: linked to a remote, or its create is in flight (the sync
    package loads on a delete only)."""
    from .sync.ledger import delete_blocked

    return delete_blocked
