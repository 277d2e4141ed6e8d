"""A remote Model Registry over REST: one ``requests.Session``, errors translated once.

``RemoteRegistry`` speaks the official v1 API (falling back to ``v1alpha3`` when the v1 routes
are missing) through the one wire codec (:mod:`localhub.codec`). Every failure is translated
here, once (:mod:`localhub.rest_answers`), into the :class:`~localhub.errors.RemoteError`
family; the sync engine never sees a ``requests`` exception.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .codec import from_json, to_request
from .credentials import redact_url, token_over_plain_http
from .errors import (
    ConfigError,
    DuplicateError,
    RemoteConflictError,
    RemoteNotFoundError,
    RemoteProtocolError,
    StoreError,
)
from .listing import Page
from .rest_answers import (
    ENTITY_LABELS,
    decode_body,
    entity_problem,
    not_json_error,
    status_error,
    transport_error,
)
from .rest_requests import COLLECTION, RequestDescription, create_path, entity_path
from .types import (
    Artifact,
    BaseResource,
    ModelVersion,
    RegisteredModel,
    ServingEnvironment,
)

if TYPE_CHECKING:  # requests is imported when a RemoteRegistry is built, not on import
    import requests
    import requests.adapters

__all__ = ["API_V1", "API_V1ALPHA3", "Fetched", "RemoteRegistry", "RequestDescription"]

T = TypeVar("T", bound=BaseResource)

API_V1 = "/api/model_registry/v1"
API_V1ALPHA3 = "/api/model_registry/v1alpha3"

_COLLECTION = COLLECTION


def _literal(value: str) -> str:
    """A filterQuery string literal (quotes and backslashes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Fetched:
    """An entity read from (or written to) the remote, with its ETag when one was sent."""

    entity: Any
    etag: str | None
    data: dict[str, Any]


class RemoteRegistry:
    """A Model Registry server at ``base_url`` (scheme, host and port; no API path).

    ``token`` is sent as ``Authorization: Bearer`` to the remote's own origin only (never
    across a redirect to another one); it is kept in memory only, and refused over plain http
    to another machine unless ``allow_insecure_token``. ``verify`` is True (system CAs),
    False, or the path of a CA bundle, and wins over ``REQUESTS_CA_BUNDLE``. ``transport``
    (a ``requests`` transport adapter) replaces the HTTP layer under the session for
    ``http://`` and ``https://``: tests inject faults there, and :meth:`clone` keeps it.
    """

    def __init__(self, base_url: str, *, token: str | None = None,
                 verify: bool | str = True, timeout: tuple[float, float] = (5, 30),
                 transport: requests.adapters.BaseAdapter | None = None,
                 allow_insecure_token: bool = False) -> None:
        from .httpclient import make_session  # imports requests

        self.base_url = base_url.rstrip("/")
        #: The base URL as shown in messages (credentials in it replaced by ***).
        self.shown_url = redact_url(self.base_url)
        if token and token_over_plain_http(self.base_url) and not allow_insecure_token:
            raise ConfigError(f"{self.shown_url} is plain http to another machine: the token "
                              "would cross the network unencrypted, so nothing was sent; use "
                              "https://, or opt in with `localhub remote add NAME URL "
                              "--allow-insecure-token` (allow_insecure_token=True)")
        self.timeout = timeout
        self.transport = transport
        self.session: requests.Session = make_session(token=token, verify=verify)
        if transport is not None:
            self.session.mount("http://", transport)
            self.session.mount("https://", transport)
        self.api = API_V1
        self._api_confirmed = False
        #: How many requests were sent (retries included), and the latest of them as
        #: (method, path), bounded so that a long push keeps flat memory.
        self.requests_sent = 0
        self.sent: deque[tuple[str, str]] = deque(maxlen=1000)

    def __repr__(self) -> str:
        return f"RemoteRegistry({self.base_url!r}, api={self.api!r})"

    def close(self) -> None:
        self.session.close()

    @property
    def api_confirmed(self) -> bool:
        """Whether the API version (v1 or v1alpha3) is known from an answer of the remote."""
        return self._api_confirmed

    def clone(self) -> RemoteRegistry:
        """A client of the same remote with its own session (one per thread): the same
        headers, TLS settings, proxies, response hooks, transport and API version."""
        clone = RemoteRegistry(self.base_url, timeout=self.timeout, transport=self.transport)
        session, source = clone.session, self.session
        session.headers.clear()
        session.headers.update(source.headers)
        session.verify, session.cert, session.auth = source.verify, source.cert, source.auth
        session.proxies, session.trust_env = dict(source.proxies), source.trust_env
        # Response hooks report each request (`localhub sync --verbose`) from every thread.
        session.hooks = {event: list(hooks) for event, hooks in source.hooks.items()}
        clone.api, clone._api_confirmed = self.api, self._api_confirmed
        return clone

    def describe(self, method: str, cls: type[BaseResource], *, remote_id: str | None = None,
                 parent_id: str | None = None, body: dict[str, Any] | None = None,
                 note: str | None = None) -> RequestDescription:
        """The request :meth:`post` (``remote_id`` None), :meth:`fetch` or :meth:`patch` would
        send, without sending it."""
        path = create_path(cls, parent_id) if remote_id is None else entity_path(cls, remote_id)
        return RequestDescription(method, self.api + path, body, note)

    # -- transport ----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None, headers: Mapping[str, str] | None = None
                ) -> tuple[Any, str | None]:
        """Send one call; returns (decoded JSON body, ETag) or raises a RemoteError."""
        import requests

        while True:
            url = self.base_url + self.api + path
            shown = self.shown_url + self.api + path
            self.sent.append((method, self.api + path))
            self.requests_sent += 1
            try:
                resp = self.session.request(
                    method, url, params=params,
                    data=None if body is None else json.dumps(body),
                    headers={**({"Content-Type": "application/json"} if body is not None
                                else {}), **(headers or {})},
                    timeout=self.timeout)
            except requests.RequestException as exc:
                raise transport_error(method, shown, exc, self.base_url) from None
            data, is_json = decode_body(resp)
            if resp.status_code == 404 and not is_json and not self._api_confirmed \
                    and self.api == API_V1:
                # The v1 routes do not exist here (a plain-text "404 page not found"):
                # an older server; speak v1alpha3 from now on.
                self.api = API_V1ALPHA3
                self._api_confirmed = True
                continue
            if is_json:
                self._api_confirmed = True
            if 200 <= resp.status_code < 300:
                if data is not None and not is_json:
                    raise not_json_error(method, shown, resp, data)
                return data, resp.headers.get("ETag")
            raise status_error(method, shown, resp, data)

    # -- entities -----------------------------------------------------------------------------

    def _one(self, cls: type[T], data: Any, etag: str | None) -> Fetched:
        return Fetched(self._entity(cls, data), etag, data)

    def _entity(self, cls: type[T], data: Any) -> T:
        """``data`` decoded as a ``cls``; RemoteProtocolError when it is not one."""
        problem = entity_problem(cls, data)
        if problem is None:
            try:
                return from_json(cls, data)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                problem = str(exc)
        label = ENTITY_LABELS.get(cls, "artifact" if issubclass(cls, Artifact) else cls.__name__)
        raise RemoteProtocolError(
            f"{self.shown_url}: the remote answered with something that is not a {label} "
            f"({problem}): {str(data)[:200]!r}; check that the URL is a Model Registry",
            url=self.shown_url, body=data)

    def find_model(self, name: str) -> Fetched | None:
        """The registered model with exactly this name, or None."""
        return self._find_named(RegisteredModel, "/registered_model", name, {},
                                _COLLECTION[RegisteredModel])

    def find_serving_environment(self, name: str) -> Fetched | None:
        """The serving environment with exactly this name, or None."""
        return self._find_named(ServingEnvironment, "/serving_environment", name, {},
                                _COLLECTION[ServingEnvironment])

    def find_version(self, name: str, model_id: str) -> Fetched | None:
        """The version ``name`` (exactly) of the remote model ``model_id``, or None."""
        return self._find_named(ModelVersion, "/model_version", name,
                                {"parentResourceId": model_id},
                                f"/registered_models/{model_id}/versions")

    def _find_named(self, cls: type[T], path: str, name: str, params: dict[str, str],
                    list_path: str) -> Fetched | None:
        """A find-one lookup by name whose answer must carry exactly ``name``.

        The upstream server may match ``?name=`` with SQL LIKE (``_`` and ``%`` are
        wildcards), so an answer of another name says nothing about ``name``: then the
        collection is asked for ``name`` by a ``filterQuery`` equality, which is exact."""
        try:
            data, etag = self.request("GET", path, params={"name": name, **params})
        except RemoteNotFoundError:
            return None
        found = self._one(cls, data, etag)
        if getattr(found.entity, "name", None) == name:
            return found
        items, _token = self.fetch_page(cls, filter_query=f"name = {_literal(name)}",
                                       path=list_path, page_size=10)
        for item in items:
            if getattr(item, "name", None) == name and item.id is not None:
                return self.fetch(cls, str(item.id))  # with its ETag
        return None

    def find_artifact(self, name: str, version_id: str, kind: str) -> Fetched | None:
        """The artifact ``name`` of type ``kind`` in the remote version, or None."""
        data, _ = self.request("GET", f"/model_versions/{version_id}/artifacts",
                               params={"name": name, "artifactType": kind})
        items = self._items(data)
        for item in items:
            if isinstance(item, dict) and item.get("name") == name \
                    and item.get("artifactType") == kind:
                return self._one(Artifact, item, None)
        return None

    def _items(self, data: Any) -> list[Any]:
        """The ``items`` of a list answer; RemoteProtocolError when it is not a list answer."""
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(items, (list, type(None))):
            raise RemoteProtocolError(
                f"{self.shown_url}: the remote answered a list request with something that is "
                f"not a list of entities: {str(data)[:200]!r}; check that the URL is a Model "
                "Registry", url=self.shown_url, body=data)
        return items or []

    def fetch(self, cls: type[T], remote_id: str) -> Fetched:
        """One entity by id, with its ETag (RemoteNotFoundError when gone)."""
        data, etag = self.request("GET", self._path(cls, remote_id))
        return self._one(cls, data, etag)

    def post(self, entity: BaseResource, *, parent_id: str | None = None) -> Fetched:
        """POST a new entity; versions under model ``parent_id``, artifacts under a version
        (``parent_id`` None: a top-level artifact)."""
        body = to_request(entity, mode="create")
        target: type[BaseResource]
        for target in (RegisteredModel, ModelVersion, ServingEnvironment, Artifact):
            if isinstance(entity, target):
                break
        else:
            raise TypeError(f"cannot create {type(entity).__name__} remotely")
        if target is ModelVersion:
            body["registeredModelId"] = parent_id
        elif target is Artifact:
            body.pop("id", None)
        data, etag = self.request("POST", create_path(target, parent_id), body=body)
        return self._one(target, data, etag)

    def attach_artifact(self, version_id: str, body: dict[str, Any]) -> Fetched:
        """Link an existing artifact (``body`` names its id) to the remote version (upsert)."""
        data, etag = self.request("POST", create_path(Artifact, version_id), body=body)
        return self._one(Artifact, data, etag)

    def patch(self, cls: type[T], remote_id: str, body: dict[str, Any], *,
              if_match: str | None = None) -> Fetched:
        """PATCH an entity with a prepared update body (``If-Match`` when given)."""
        if cls is Artifact:
            raise TypeError("patch() needs the concrete artifact class (its artifactType)")
        if issubclass(cls, Artifact):
            body = {"artifactType": cls.kind, **body}
        headers = {"If-Match": if_match} if if_match else None
        data, etag = self.request("PATCH", self._path(cls, remote_id), body=body,
                                  headers=headers)
        return self._one(cls, data, etag)

    def fetch_page(self, cls: type[BaseResource], *, filter_query: str | None = None,
                  order_by: str | None = None, sort_order: str | None = None,
                  page_size: int | None = None, page_token: str | None = None,
                  version_id: str | None = None, path: str | None = None,
                  artifact_type: str | None = None) -> tuple[list[BaseResource], str]:
        """One page of a collection: (entities, nextPageToken)."""
        if path is not None:
            pass
        elif version_id is not None:
            path = f"/model_versions/{version_id}/artifacts"
        elif issubclass(cls, Artifact):
            path = "/artifacts"
        else:
            path = _COLLECTION[cls]
        params = {k: v for k, v in (("filterQuery", filter_query), ("orderBy", order_by),
                                    ("sortOrder", sort_order), ("pageSize", page_size),
                                    ("nextPageToken", page_token),
                                    ("artifactType", artifact_type)) if v}
        data, _ = self.request("GET", path, params=params)
        target: type[BaseResource] = Artifact if issubclass(cls, Artifact) else cls
        items = [self._entity(target, item) for item in self._items(data)]
        return items, str(data.get("nextPageToken") or "")

    def list_all(self, cls: type[BaseResource], *, page_size: int = 100,
                 **options: Any) -> Iterator[BaseResource]:
        """Every entity of a collection, page by page."""
        token: str | None = None
        while True:
            items, token = self.fetch_page(cls, page_size=page_size, page_token=token, **options)
            yield from items
            if not token or not items:
                return

    # -- the store contract (localhub.sync.RegistryStore), shared with SQLiteStore ----------

    def get(self, cls: type[T], entity_id: str | int) -> T | None:
        """The entity of type ``cls`` with this id, or None (also for ids of other types)."""
        target: type[BaseResource] = Artifact if issubclass(cls, Artifact) else cls
        try:
            entity = self.fetch(target, str(entity_id)).entity
        except RemoteNotFoundError:
            return None
        return entity if isinstance(entity, cls) else None

    def find(self, cls: type[T], *, name: str | None = None,
             parent_id: str | int | None = None, external_id: str | None = None) -> T | None:
        """The one entity matching an exact name (within ``parent_id``) and/or external id."""
        if name is None and external_id is None:
            raise TypeError("find() needs name or external_id")
        params = {k: v for k, v in (("name", name), ("externalId", external_id),
                                    ("parentResourceId", None if parent_id is None
                                     else str(parent_id))) if v is not None}
        target: type[BaseResource]
        if issubclass(cls, RegisteredModel):
            path, target = "/registered_model", RegisteredModel
        elif issubclass(cls, ServingEnvironment):
            path, target = "/serving_environment", ServingEnvironment
        elif issubclass(cls, ModelVersion):
            path, target = "/model_version", ModelVersion
        elif issubclass(cls, Artifact):
            path, target = "/artifact", Artifact
        else:
            raise TypeError(f"cannot find {cls.__name__} remotely")
        try:
            data, etag = self.request("GET", path, params=params)
        except RemoteNotFoundError:
            return None
        entity = self._one(target, data, etag).entity
        if name is not None and getattr(entity, "name", None) != name:
            entity = self._find_exact(target, name, parent_id, external_id)
        return entity if isinstance(entity, cls) else None

    def _find_exact(self, cls: type[BaseResource], name: str, parent_id: str | int | None,
                    external_id: str | None) -> BaseResource | None:
        """The entity named exactly ``name``, by a ``filterQuery`` equality (a find-one
        answer of another name came from a LIKE match: see :meth:`_find_named`)."""
        clauses = [f"name = {_literal(name)}"]
        if external_id is not None:
            clauses.append(f"externalId = {_literal(external_id)}")
        if parent_id is None:
            path = "/artifacts" if issubclass(cls, Artifact) else _COLLECTION[cls]
        elif issubclass(cls, Artifact):
            path = f"/model_versions/{parent_id}/artifacts"
        else:
            path = f"/registered_models/{parent_id}/versions"
        items, _token = self.fetch_page(cls, filter_query=" AND ".join(clauses), path=path,
                                       page_size=10)
        return next((e for e in items if getattr(e, "name", None) == name), None)

    def list_page(self, cls: type[T], *, parent_id: str | int | None = None,
                  filter_query: str | None = None, order_by: str | None = None,
                  sort_order: str | None = None, page_size: int | None = None,
                  page_token: str | None = None) -> Page[T]:
        """One page of entities (every entity when ``page_size`` is None), as SQLiteStore."""
        extra: dict[str, Any] = {}
        if parent_id is not None and issubclass(cls, ModelVersion):
            extra["path"] = f"/registered_models/{parent_id}/versions"
        elif parent_id is not None and issubclass(cls, Artifact):
            extra["path"] = f"/model_versions/{parent_id}/artifacts"
        if issubclass(cls, Artifact) and cls is not Artifact:
            extra["artifact_type"] = cls.kind
        options: dict[str, Any] = {"filter_query": filter_query, "order_by": order_by,
                                   "sort_order": sort_order}
        if page_size:
            items, token = self.fetch_page(cls, page_size=page_size, page_token=page_token,
                                          **options, **extra)
            return Page([e for e in items if isinstance(e, cls)], token, page_size)
        every: list[T] = [e for e in self.list_all(cls, **options, **extra)
                          if isinstance(e, cls)]
        return Page(every, "", 0)

    def create(self, entity: T, *, version_id: str | int | None = None) -> T:
        """Create ``entity`` (a version under its ``registered_model_id``, an artifact under
        ``version_id``); a taken name is a DuplicateError, as in SQLiteStore."""
        if isinstance(entity, ModelVersion):
            parent: str | None = str(entity.registered_model_id)
        elif isinstance(entity, Artifact):
            parent = None if version_id is None else str(version_id)
        else:
            parent = None
        try:
            created: T = self.post(entity, parent_id=parent).entity
        except RemoteConflictError as exc:
            raise DuplicateError(exc.message, entity=entity.kind,
                                 key=str(getattr(entity, "name", ""))) from exc
        return created

    def update(self, entity: T) -> T:
        """Write every mutable field of ``entity`` (found by its id), ``state`` included."""
        if not entity.id:
            raise StoreError("Model must have an ID")
        body = to_request(entity, mode="update")
        updated: T = self.patch(type(entity), str(entity.id), body).entity
        return updated

    @staticmethod
    def _path(cls: type[BaseResource], remote_id: str) -> str:
        return entity_path(cls, remote_id)
