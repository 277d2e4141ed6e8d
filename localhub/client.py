"""``localhub.ModelRegistryClient``: ``kubeflow.hub.ModelRegistryClient`` on the local store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError
from .registry import ModelRegistry
from .store import PendingChange, SQLiteStore
from .types import ModelArtifact, ModelVersion, RegisteredModel, SupportedTypes

if TYPE_CHECKING:  # the sync engine loads on the first sync() call, not at import
    from .sync.engine import Policy, SyncReport

__all__ = ["ModelRegistryClient", "StorageConfig"]


@dataclass
class StorageConfig:
    """Storage credentials KServe uses to fetch a model (as in ``kubeflow.hub``)."""

    storage_key: str | None = None
    storage_path: str | None = None
    service_account_name: str | None = None


class ModelRegistryClient:
    """The Kubeflow SDK's registry client, working offline on a local SQLite file.

    ``base_url`` names the remote this registry syncs with; nothing touches the network
    until ``sync()`` runs. Extra keyword ``path`` (or ``store``) chooses the database.
    """

    def __init__(
        self,
        base_url: str,
        port: int | None = None,
        *,
        author: str | None = None,
        is_secure: bool | None = None,
        user_token: str | None = None,
        custom_ca: str | None = None,
        path: str | os.PathLike[str] | None = None,
        store: SQLiteStore | None = None,
    ) -> None:
        is_http = base_url.startswith("http://")
        if is_secure is None:
            is_secure = not is_http
        if port is None:
            port = 8080 if is_http else 443
        self._registry = ModelRegistry(
            server_address=base_url,
            port=port,
            author=author,  # type: ignore[arg-type]
            is_secure=is_secure,
            user_token=user_token,
            custom_ca=custom_ca,
            path=path,
            store=store,
        )

    def __repr__(self) -> str:
        return f"ModelRegistryClient(base_url={self.base_url!r}, path={self.store.path!r})"

    @property
    def base_url(self) -> str:
        """The remote this registry syncs with."""
        return self._registry.base_url

    @property
    def registry(self) -> ModelRegistry:
        """The ``ModelRegistry`` facade over the same store."""
        return self._registry

    @property
    def store(self) -> SQLiteStore:
        """The local store."""
        return self._registry.store

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
        storage_config: StorageConfig | None = None,
    ) -> RegisteredModel:
        """Register a model version and its artifact (one transaction); returns the model."""
        storage = storage_config or StorageConfig()
        return self._registry.register_model(
            name=name,
            uri=uri,
            model_format_name=model_format_name,
            model_format_version=model_format_version,
            version=version,
            author=author,
            owner=owner,
            version_description=version_description,
            metadata=metadata,
            storage_key=storage.storage_key,
            storage_path=storage.storage_path,
            service_account_name=storage.service_account_name,
        )

    def update_model(self, model: RegisteredModel) -> RegisteredModel:
        """Update a registered model; TypeError for any other object."""
        if not isinstance(model, RegisteredModel):
            raise TypeError(f"Expected RegisteredModel, got {type(model).__name__}. ")
        return self._registry.update(model)

    def update_model_version(self, model_version: ModelVersion) -> ModelVersion:
        """Update a model version; TypeError for any other object."""
        if not isinstance(model_version, ModelVersion):
            raise TypeError(f"Expected ModelVersion, got {type(model_version).__name__}. ")
        return self._registry.update(model_version)

    def update_model_artifact(self, model_artifact: ModelArtifact) -> ModelArtifact:
        """Update a model artifact; TypeError for any other object."""
        if not isinstance(model_artifact, ModelArtifact):
            raise TypeError(f"Expected ModelArtifact, got {type(model_artifact).__name__}. ")
        return self._registry.update(model_artifact)

    def get_model(self, name: str) -> RegisteredModel:
        """The registered model; ValueError if there is none."""
        model = self._registry.get_registered_model(name)
        if model is None:
            raise NotFoundError(f"Model {name!r} not found", entity="registered model", key=name)
        return model

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """A model version; StoreError if the model is missing, ValueError if the version is."""
        model_version = self._registry.get_model_version(name, version)
        if model_version is None:
            raise NotFoundError(f"Model version {version!r} not found for model {name!r}",
                                entity="model version", key=f"{name}:{version}")
        return model_version

    def get_model_artifact(self, name: str, version: str) -> ModelArtifact:
        """A version's model artifact; StoreError if model or version is missing, else
        ValueError if there is no artifact."""
        artifact = self._registry.get_model_artifact(name, version)
        if artifact is None:
            raise NotFoundError(
                f"Model artifact not found for model {name!r} version {version!r}",
                entity="model artifact", key=f"{name}:{version}")
        return artifact

    def list_models(
        self,
        *,
        filter_query: str | None = None,
        order_by: str | None = None,
        descending: bool = False,
        page_size: int | None = None,
    ) -> Iterator[RegisteredModel]:
        """Iterate over registered models (optionally filtered and ordered)."""
        yield from self._registry.get_registered_models(
            filter_query=filter_query, order_by=order_by, descending=descending,
            page_size=page_size)

    def list_model_versions(
        self,
        name: str,
        *,
        filter_query: str | None = None,
        order_by: str | None = None,
        descending: bool = False,
        page_size: int | None = None,
    ) -> Iterator[ModelVersion]:
        """Iterate over a model's versions; StoreError if the model does not exist."""
        yield from self._registry.get_model_versions(
            name, filter_query=filter_query, order_by=order_by, descending=descending,
            page_size=page_size)

    # -- localhub extensions ------------------------------------------------------------------

    def batch(self) -> AbstractContextManager[None]:
        """Group many writes into one transaction and one durable commit.

        ``with client.batch(): ...`` registers or updates many models at the cost of one
        commit: each call inside succeeds or fails on its own, everything becomes durable (and
        visible to other processes) when the block ends, and an exception escaping the block
        undoes the whole batch.
        """
        return self._registry.batch()

    def pending(self) -> list[PendingChange]:
        """The queued local changes no remote has acknowledged yet, oldest first."""
        return self._registry.pending()

    def sync(self, remote: str | None = None, *, push: bool = True, pull: bool = True,
             on_conflict: Policy = "manual", dry_run: bool = False, token: str | None = None,
             models: Sequence[str] | None = None,
             uri_map: Sequence[tuple[str, str]] | None = None,
             verify: bool | str | None = None,
             progress: Callable[[str, int, int], None] | None = None,
             **engine_options: Any) -> SyncReport:
        """Push queued changes and pull remote ones; returns a ``localhub.sync.SyncReport``.

        ``remote`` defaults to ``base_url``; ``token`` to ``user_token`` (never stored);
        ``on_conflict`` is ``"manual"``, ``"ours"`` or ``"theirs"``; ``dry_run`` returns the
        plan without sending or writing anything; ``models`` limits push and pull to these
        model names; ``uri_map`` is a list of ``(from_prefix, to_prefix)`` artifact URI
        rewrites applied on push (shown in the plan and the report); ``verify`` is TLS
        verification (True, False or a CA bundle path); ``progress(phase, done, total)``.
        """
        return self._registry.sync(remote, push=push, pull=pull, on_conflict=on_conflict,
                                   dry_run=dry_run, token=token, models=models,
                                   uri_map=uri_map, verify=verify, progress=progress,
                                   **engine_options)

    def sync_status(self) -> dict[str, Any]:
        """Queued changes, open conflicts, set-aside items and per-remote last push / pull
        (``localhub.sync.sync_status``); local data only."""
        return self._registry.sync_status()

    def conflicts(self, *, include_resolved: bool = False) -> list[Any]:
        """Sync conflicts (open ones unless ``include_resolved``), oldest first."""
        return self._registry.conflicts(include_resolved=include_resolved)

    def resolve(self, conflict_id: int, choice: str, value: Any = None) -> Any:
        """Resolve a sync conflict: ``"ours"``, ``"theirs"``, or an explicit ``value``."""
        return self._registry.resolve(conflict_id, choice, value)

    def archive_model(self, name: str) -> RegisteredModel:
        """Archive a model (state ARCHIVED; the registry has no delete)."""
        return self._registry.archive_model(name)

    def archive_model_version(self, name: str, version: str) -> ModelVersion:
        """Archive a model version."""
        return self._registry.archive_model_version(name, version)

    def restore_model(self, name: str) -> RegisteredModel:
        """Set an archived model back to LIVE."""
        return self._registry.restore_model(name)

    def restore_model_version(self, name: str, version: str) -> ModelVersion:
        """Set an archived model version back to LIVE."""
        return self._registry.restore_model_version(name, version)

    def delete_model(self, name: str) -> None:
        """Delete a never-synced model with its versions (DeleteNotAllowedError otherwise)."""
        self._registry.delete_model(name)

    def delete_model_version(self, name: str, version: str) -> None:
        """Delete a never-synced model version with its artifacts."""
        self._registry.delete_model_version(name, version)
