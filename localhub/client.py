"""``localhub.ModelRegistryClient``: ``kubeflow.hub.ModelRegistryClient`` on the local store."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .errors import NotFoundError
from .extensions import RegistryExtensions, SyncTarget
from .registration import Registration
from .registry import ModelRegistry
from .store import SQLiteStore
from .types import ModelArtifact, ModelVersion, RegisteredModel, SupportedTypes

__all__ = ["ModelRegistryClient", "StorageConfig"]


@dataclass
class StorageConfig:
    """Storage credentials KServe uses to fetch a model (as in ``kubeflow.hub``)."""

    storage_key: str | None = None
    storage_path: str | None = None
    service_account_name: str | None = None


class ModelRegistryClient(RegistryExtensions):
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
        return self._registry.register(Registration(
            name, uri, version, model_format_name=model_format_name,
            model_format_version=model_format_version, author=author, owner=owner,
            version_description=version_description, metadata=metadata,
            storage_key=storage.storage_key, storage_path=storage.storage_path,
            service_account_name=storage.service_account_name))

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
        return self.require_model(name)

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        """A model version; StoreError if the model is missing, ValueError if the version is."""
        return self.require_version(name, version)

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

    # -- localhub extensions (the rest are shared with ModelRegistry) ---------------------------

    def _sync_target(self, remote: str | None, verify: bool | str | None,
                     token: str | None) -> SyncTarget:
        return self._registry._sync_target(remote, verify, token)
