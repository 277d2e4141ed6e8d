"""``localhub.ModelRegistry``: ``model_registry.ModelRegistry`` on the local store."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from .errors import ModelNotFoundError, StoreError
from .extensions import RegistryExtensions, SyncTarget
from .pager import ListOptions, OrderByField, Pager
from .paths import default_db_path
from .registration import Registration
from .store import SQLiteStore
from .types import BaseResource, ModelArtifact, ModelVersion, RegisteredModel, SupportedTypes
from .urls import strip_api_path

__all__ = ["ModelRegistry", "remote_url"]

TModel = TypeVar("TModel", bound=BaseResource)


def remote_url(server_address: str, port: int | None) -> str:
    """The remote's base URL: scheme inferred as the official client does, port folded in."""
    address = strip_api_path(server_address) if server_address.strip() else ""
    if not address:
        return ""
    if "://" not in address:
        address = "https://" + address
    parts = urlsplit(address)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    if port is not None and parts.port is None and port != default_port:
        netloc = f"{parts.hostname}:{port}"
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


class ModelRegistry(RegistryExtensions):
    """The official ``ModelRegistry`` API on a local SQLite file.

    Nothing touches the network: ``server_address`` names the remote this registry syncs
    with. Tokens are kept in memory only. Extra keyword ``path`` (or ``store``) chooses the
    database; default ``$LOCALHUB_DB``, else ``$LOCALHUB_HOME/registry.db``, else the user's
    data folder.
    """

    def __init__(
        self,
        server_address: str,
        port: int | None = None,
        *,
        author: str,
        is_secure: bool | None = None,
        user_token: str | None = None,
        user_token_envvar: str | None = None,
        custom_ca: str | None = None,
        custom_ca_envvar: str | None = None,
        log_level: int = logging.WARNING,
        async_runner: Callable[..., Any] | None = None,
        path: str | os.PathLike[str] | None = None,
        store: SQLiteStore | None = None,
    ) -> None:
        if user_token_envvar is not None and user_token is None:
            if user_token_envvar not in os.environ:
                raise ValueError(f"Environment variable {user_token_envvar} is not set")
        if async_runner is not None and not callable(async_runner):
            raise ValueError("async_runner must be a function or a bound method")
        if port is None and server_address.startswith("http://") and urlsplit(
                server_address).port is None:
            port = 8080
        self._author = author
        self.base_url = remote_url(server_address, port)
        self.is_secure = (not server_address.startswith("http://")) if is_secure is None \
            else is_secure
        self._user_token = user_token
        self.user_token_envvar = user_token_envvar
        self.custom_ca = custom_ca or (os.environ.get(custom_ca_envvar) if custom_ca_envvar
                                       else None)
        self.log_level = log_level
        self._store = store if store is not None else SQLiteStore(
            path if path is not None else default_db_path())
        self._remote_recorded = False

    def __repr__(self) -> str:
        return f"ModelRegistry(base_url={self.base_url!r}, path={self._store.path!r})"

    @property
    def store(self) -> SQLiteStore:
        """The local store behind this registry."""
        return self._store

    # -- registration -------------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        uri: str,
        *,
        model_format_name: str | None,
        model_format_version: str | None,
        version: str,
        storage_key: str | None = None,
        storage_path: str | None = None,
        service_account_name: str | None = None,
        model_source_kind: str | None = None,
        model_source_class: str | None = None,
        model_source_group: str | None = None,
        model_source_id: str | None = None,
        model_source_name: str | None = None,
        author: str | None = None,
        owner: str | None = None,
        version_description: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, SupportedTypes] | None = None,
    ) -> RegisteredModel:
        """Register a model version and its artifact, in one transaction; returns the model."""
        if description is not None:
            warnings.warn(
                "The 'description' parameter is deprecated and will be removed in a future "
                "version. Use 'version_description' instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            if version_description is None:
                version_description = description
        return self.register(Registration(
            name, uri, version, model_format_name=model_format_name,
            model_format_version=model_format_version, author=author, owner=owner,
            version_description=version_description, metadata=metadata,
            storage_key=storage_key, storage_path=storage_path,
            service_account_name=service_account_name, model_source_kind=model_source_kind,
            model_source_class=model_source_class, model_source_group=model_source_group,
            model_source_id=model_source_id, model_source_name=model_source_name))

    def register(self, registration: Registration) -> RegisteredModel:
        """Write ``registration`` (author and owner default to this registry's author) in one
        transaction; returns the model."""
        model = registration.by(self._author).write_model(self._store)
        self._record_remote()
        return model

    def update(self, model: TModel) -> TModel:
        """Write the object's fields (found by id) and queue the change for sync."""
        if not getattr(model, "id", None):
            raise StoreError("Model must have an ID")
        if not isinstance(model, (RegisteredModel, ModelVersion, ModelArtifact)):
            raise StoreError("Model must be an instance of BaseResourceModel or a subclass")
        updated = self._store.update(model, keep_unset=True)
        self._record_remote()
        return updated

    # -- lookups ------------------------------------------------------------------------------

    def get_registered_model(self, name: str) -> RegisteredModel | None:
        """The model with this exact name, or None."""
        return self._store.find(RegisteredModel, name=name)

    def get_model_version(self, name: str, version: str) -> ModelVersion | None:
        """The version of a model, or None; StoreError if the model does not exist."""
        exists, found = self._store.find_version(name, version)
        if not exists:
            raise ModelNotFoundError(name)
        return found

    def get_model_artifact(self, name: str, version: str) -> ModelArtifact | None:
        """The model artifact of a version, or None; StoreError if model or version is missing.

        The artifact named like the model is preferred (that is what ``register_model``
        creates); otherwise the version's first model artifact is returned.
        """
        if not (mv := self.get_model_version(name, version)):
            raise StoreError(f"Version {version} does not exist")
        assert mv.id is not None
        found = self._store.find(ModelArtifact, name=name, parent_id=mv.id)
        if found is not None:
            return found
        page = self._store.list_page(ModelArtifact, parent_id=mv.id, page_size=1)
        return page.items[0] if page.items else None

    def get_registered_models(
        self,
        *,
        filter_query: str | None = None,
        order_by: str | None = None,
        descending: bool = False,
        page_size: int | None = None,
    ) -> Pager[RegisteredModel]:
        """Every registered model, as a Pager (``filter_query`` uses the REST filter grammar)."""
        options = self._options(filter_query, order_by, descending, page_size)
        return Pager[RegisteredModel](self._page_fn(RegisteredModel, None), options)

    def get_model_versions(
        self,
        name: str,
        *,
        filter_query: str | None = None,
        order_by: str | None = None,
        descending: bool = False,
        page_size: int | None = None,
    ) -> Pager[ModelVersion]:
        """Every version of a model, as a Pager; StoreError if the model does not exist."""
        if not (rm := self.get_registered_model(name)):
            raise ModelNotFoundError(name)
        options = self._options(filter_query, order_by, descending, page_size)
        return Pager[ModelVersion](self._page_fn(ModelVersion, rm.id), options)

    # -- sync ---------------------------------------------------------------------------------

    def _sync_target(self, remote: str | None, verify: bool | str | None,
                     token: str | None) -> SyncTarget:
        url = strip_api_path(remote) if remote else self.base_url
        if not url:
            raise ValueError("no remote to sync with: pass remote= or a server address")
        if verify is None:
            verify = self.custom_ca or True
        if token is None:
            token = self._user_token or self._token_from_file()
        return url, verify, token

    def _token_from_file(self) -> str | None:
        """The token as the official client finds it: the file named by ``user_token_envvar``,
        else by ``$KF_PIPELINES_SA_TOKEN_PATH``, else the Kubernetes service-account token.

        Read at sync time, never in the constructor. A file the user named that cannot be
        read is a ``StoreError``; a missing default service-account token means no token.
        """
        if self.user_token_envvar:
            named: str | None = os.environ.get(self.user_token_envvar)
            if named is None:
                raise ValueError(f"Environment variable {self.user_token_envvar} is not set")
        else:
            named = os.environ.get("KF_PIPELINES_SA_TOKEN_PATH")
        path = named or "/var/run/secrets/kubernetes.io/serviceaccount/token"
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().strip() or None
        except OSError as exc:
            if named is None:
                return None
            raise StoreError(f"Unable to read the user token from {path!r}: {exc.strerror}; "
                             "check the path in the token environment variable") from exc

    # -- internals ----------------------------------------------------------------------------

    def _record_remote(self) -> None:
        """Remember ``base_url`` as the default remote, on the first write (not in __init__)."""
        if not self._remote_recorded and self.base_url:
            if self._store.get_meta("default_remote") is None:
                self._store.set_meta("default_remote", self.base_url)
            self._remote_recorded = True

    @staticmethod
    def _options(filter_query: str | None, order_by: str | None, descending: bool,
                 page_size: int | None) -> ListOptions:
        if page_size is not None and page_size < 1:
            raise ValueError(f"Page size must be at least 1, got {page_size}")
        return ListOptions(
            limit=page_size,
            order_by=OrderByField(order_by.upper()) if order_by else None,
            is_asc=not descending,
            filter_query=filter_query,
        )

    def _page_fn(self, cls: type[TModel], parent_id: str | None
                 ) -> Callable[[ListOptions], list[TModel]]:
        def fetch(options: ListOptions) -> list[TModel]:
            page = self._store.list_page(
                cls,
                parent_id=parent_id,
                filter_query=options.filter_query,
                order_by=options.order_by.value if options.order_by else None,
                sort_order="ASC" if options.is_asc else "DESC",
                page_size=options.limit,
                page_token=options.next_page_token,
            )
            options.next_page_token = page.next_page_token
            return page.items

        return fetch
