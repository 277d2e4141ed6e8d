"""``localhub.ModelRegistry``: ``model_registry.ModelRegistry`` on the local store."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from .errors import NotFoundError, StoreError
from .pager import ListOptions, OrderByField, Pager
from .paths import default_db_path
from .store import PendingChange, SQLiteStore
from .types import (
    BaseResource,
    ModelArtifact,
    ModelVersion,
    ModelVersionState,
    RegisteredModel,
    RegisteredModelState,
    SupportedTypes,
)
from .urls import strip_api_path

if TYPE_CHECKING:  # the sync engine loads on the first sync() call, not at import
    from .sync.engine import Policy, SyncReport

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


def _request_reporter(on_request: Callable[[str, str, int, float], None]
                      ) -> Callable[..., None]:
    """A ``requests`` response hook that reports method, path, status and duration."""
    def hook(resp: Any, *args: Any, **kwargs: Any) -> None:
        request = resp.request
        path = str(request.path_url or "").split("?", 1)[0]
        on_request(str(request.method), path, int(resp.status_code),
                   resp.elapsed.total_seconds())

    return hook


class ModelRegistry:
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
        model = self._store.register(
            name,
            uri,
            version=version,
            model_format_name=model_format_name,
            model_format_version=model_format_version,
            author=author or self._author,
            owner=owner or self._author,
            version_description=version_description,
            metadata=metadata,
            artifact_fields={
                "storage_key": storage_key,
                "storage_path": storage_path,
                "service_account_name": service_account_name,
                "model_source_kind": model_source_kind,
                "model_source_class": model_source_class,
                "model_source_group": model_source_group,
                "model_source_id": model_source_id,
                "model_source_name": model_source_name,
            },
        )
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
            raise StoreError(f"Model {name} does not exist")
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
        page = self._store.list(ModelArtifact, parent_id=mv.id, page_size=1)
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
            raise StoreError(f"Model {name} does not exist")
        options = self._options(filter_query, order_by, descending, page_size)
        return Pager[ModelVersion](self._page_fn(ModelVersion, rm.id), options)

    # -- localhub extensions ------------------------------------------------------------------

    def pending(self) -> list[PendingChange]:
        """The queued local changes no remote has acknowledged yet, oldest first."""
        return self._store.pending()

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
        """Delete a model that was never synced, with its versions and queued changes."""
        model = self._require_model(name)
        self._store.delete(model)

    def delete_model_version(self, name: str, version: str) -> None:
        """Delete a version that was never synced, with its artifacts and queued changes."""
        found = self.get_model_version(name, version)
        if found is None:
            raise NotFoundError(f"Model version {version!r} not found for model {name!r}",
                                entity="model version", key=f"{name}:{version}")
        self._store.delete(found)

    def batch(self) -> AbstractContextManager[None]:
        """Group many writes into one transaction and one durable commit (a localhub extension).

        Each call inside still succeeds or fails on its own; all of them become durable, and
        visible to other processes, when the block ends. An exception escaping the block
        undoes the whole batch.
        """
        return self._store.batch()

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
        """Push queued changes to ``remote`` (default: this registry's address) and pull its
        changes; returns a ``localhub.sync.SyncReport``. The token (default: ``user_token``)
        is used for this call only and never stored, nor sent over plain http to another
        machine unless ``allow_insecure_token``. ``models`` limits push and pull to these
        model names; ``uri_map`` rewrites artifact URI prefixes on push; ``verify`` is the TLS
        verification (True, False or a CA bundle path; default: ``custom_ca`` or True);
        ``progress(phase, done, total)`` is called as the run advances;
        ``on_request(method, path, status, seconds)`` after each answer (the path without
        query; no header, so never the token)."""
        from .remote import RemoteRegistry
        from .sync import SyncEngine

        url = strip_api_path(remote) if remote else self.base_url
        if not url:
            raise ValueError("no remote to sync with: pass remote= or a server address")
        if verify is None:
            verify = self.custom_ca or True
        if token is None:
            token = self._user_token or self._token_from_file()
        client = RemoteRegistry(url, token=token, verify=verify,
                                allow_insecure_token=allow_insecure_token)
        if on_request is not None:
            client.session.hooks["response"].append(_request_reporter(on_request))
        try:
            engine = SyncEngine(self._store, client, on_conflict=on_conflict,
                                models=models, uri_map=uri_map, progress=progress,
                                **engine_options)
            return engine.run(push=push, pull=pull, dry_run=dry_run)
        finally:
            client.close()

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

    def sync_status(self) -> dict[str, Any]:
        """Queued changes, open conflicts, set-aside items and per-remote last push / pull
        (``localhub.sync.sync_status``); local data only."""
        from .sync import sync_status

        status: dict[str, Any] = sync_status(self._store)
        return status

    def conflicts(self, *, include_resolved: bool = False) -> list[Any]:
        """Sync conflicts (open ones unless ``include_resolved``), oldest first."""
        from .sync import list_conflicts

        return list(list_conflicts(self._store, include_resolved=include_resolved))

    def resolve(self, conflict_id: int, choice: str, value: Any = None) -> Any:
        """Resolve a sync conflict with ``ours``, ``theirs`` or an explicit ``value``."""
        from .sync import resolve

        if value is not None and choice != "value":
            choice = "value"
        return resolve(self._store, conflict_id, choice, value)

    # -- internals ----------------------------------------------------------------------------

    def _record_remote(self) -> None:
        """Remember ``base_url`` as the default remote, on the first write (not in __init__)."""
        if not self._remote_recorded and self.base_url:
            if self._store.get_meta("default_remote") is None:
                self._store.set_meta("default_remote", self.base_url)
            self._remote_recorded = True

    def _require_model(self, name: str) -> RegisteredModel:
        model = self.get_registered_model(name)
        if model is None:
            raise NotFoundError(f"Model {name!r} not found", entity="registered model", key=name)
        return model

    # Read and write in one transaction: another process's edit committed in between would
    # otherwise be written back to its old value.
    def _set_model_state(self, name: str, state: RegisteredModelState) -> RegisteredModel:
        with self._store.batch():
            model = self._require_model(name)
            model.state = state
            return self._store.update(model)

    def _set_version_state(self, name: str, version: str, state: ModelVersionState
                           ) -> ModelVersion:
        with self._store.batch():
            found = self.get_model_version(name, version)
            if found is None:
                raise NotFoundError(f"Model version {version!r} not found for model {name!r}",
                                    entity="model version", key=f"{name}:{version}")
            found.state = state
            return self._store.update(found)

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
            page = self._store.list(
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
