"""Handler factories for the operations every entity family shares: get, patch, list, find."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._entities import SPECS
from ..codec import WireFormatError, artifact_class, decode_update, overlay
from ..store import Page
from ..types import Artifact, BaseResource
from .http import (
    ApiError,
    Ctx,
    Handler,
    Reply,
    check_if_match,
    entity_reply,
    list_options,
    list_reply,
    name_filter,
    parse_id,
    require,
)

__all__ = [
    "find_handler",
    "get_handler",
    "label_of",
    "list_handler",
    "patch_entity",
    "patch_handler",
]


def label_of(cls: type[BaseResource]) -> str:
    """Human name used in messages ("registered model", ...)."""
    spec = SPECS.get(cls)
    return spec.label if spec is not None else "artifact"


def get_handler(cls: type[BaseResource], key: str) -> Handler:
    """GET one entity of ``cls`` by the path id ``key``."""

    def handle(ctx: Ctx) -> Reply:
        entity_id = ctx.id(key)
        return entity_reply(require(ctx.store.get(cls, entity_id), label_of(cls), entity_id))

    return handle


def patch_entity(ctx: Ctx, cls: type[BaseResource], entity_id: str,
                 changes: Callable[[BaseResource], dict[str, Any]],
                 check: Callable[[BaseResource, dict[str, Any]], None] | None = None) -> Reply:
    """Read, check ``If-Match``, overlay the body's non-null fields and write, under the lock.

    ``customProperties`` in the body replaces the whole map; omitted fields (``state``
    included) keep their values.
    """
    # One transaction: a writer in another process cannot slip between the read (and the
    # If-Match check) and the write.
    with ctx.lock, ctx.store.batch():
        current = require(ctx.store.get(cls, entity_id), label_of(cls), entity_id)
        delta = changes(current)
        check_if_match(ctx, current)
        if check is not None:
            check(current, delta)
        updated = ctx.store.update(overlay(current, delta))
    return entity_reply(updated)


def patch_handler(cls: type[BaseResource], key: str,
                  check: Callable[[Ctx, BaseResource, dict[str, Any]], None] | None = None
                  ) -> Handler:
    """PATCH one entity of a concrete type (unknown or immutable fields are a 400)."""

    def handle(ctx: Ctx) -> Reply:
        entity_id = ctx.id(key)
        body = ctx.json()
        delta = decode_update(cls, body)
        return patch_entity(
            ctx, cls, entity_id, lambda _current: delta,
            None if check is None else (lambda cur, d: check(ctx, cur, d)))

    return handle


def list_handler(cls: type[BaseResource], *, parent_key: str | None = None,
                 by_name: bool = False, by_type: bool = False) -> Handler:
    """GET a collection; ``parent_key`` restricts it to the children of a path id."""

    def handle(ctx: Ctx) -> Reply:
        parent_id = ctx.id(parent_key) if parent_key else None
        kinds = None
        if by_type and ctx.arg("artifactType") is not None:
            try:
                kinds = [artifact_class(ctx.arg("artifactType")).kind]
            except WireFormatError as exc:
                raise ApiError(400, f"{exc.message}: bad request") from None
        options = list_options(ctx, extra_filter=name_filter(ctx) if by_name else None)
        page: Page[Any] = ctx.store.list_page(cls, parent_id=parent_id, kinds=kinds, **options)
        return list_reply(page, ctx)

    return handle


#: The Go server's 400 for a find-one without a usable parameter combination, per family
#: (kubeflow/model-registry ``internal/core``: ``Get*ByParams``).
_FIND_USAGE = {
    "top": "invalid parameters call, supply either name or externalId: bad request",
    "model version": "invalid parameters call, supply either (versionName and "
                     "registeredModelId), or externalId: bad request",
    "inference service": "invalid parameters call, supply either (name and parentResourceId), "
                         "or externalId: bad request",
    "artifact": "invalid parameters call, supply either (artifactName and parentResourceId), "
                "or externalId: bad request",
}


def find_handler(cls: type[BaseResource], *, child: bool) -> Handler:
    """GET the one entity matching the ``name`` / ``externalId`` / ``parentResourceId`` query.

    Upstream's rules (kubeflow/model-registry ``internal/core``, ``GetRegisteredModelByParams``,
    ``GetModelVersionByParams``, ``GetInferenceServiceByParams``, ``getArtifactByParams``):
    models and serving environments need ``name`` or ``externalId`` and match both when both
    are given. Versions and inference services need (``name`` and ``parentResourceId``) or
    ``externalId``; without a parent the name is not used; with one, both must match.
    Artifacts need the same combinations, and every parameter given must match.
    """
    artifact = child and (cls is Artifact or issubclass(cls, Artifact))

    def handle(ctx: Ctx) -> Reply:
        name, external_id = ctx.arg("name"), ctx.arg("externalId")
        parent = ctx.arg("parentResourceId") if child else None
        if not child:
            if name is None and external_id is None:
                raise ApiError(400, _FIND_USAGE["top"])
        elif (name is None or parent is None) and external_id is None:
            raise ApiError(400, _FIND_USAGE["artifact" if artifact else label_of(cls)])
        parent_id = parse_id(parent, what="parentResourceId") if parent else None
        if child and not artifact and parent_id is None:
            name = None  # a version or service name means nothing without its parent
        if child and (name is None or parent_id is None):
            found = ctx.store.find(cls, external_id=external_id)
            if found is not None and artifact and (
                    (name is not None and getattr(found, "name", None) != name) or (
                    parent_id is not None
                    and ctx.store.artifact_version_id(found.id or "") != parent_id)):
                found = None
        else:
            found = ctx.store.find(cls, name=name, parent_id=parent_id, external_id=external_id)
        if found is None:
            what = f"name {name!r}" if name is not None else f"externalId {external_id!r}"
            raise ApiError(404, f"no {label_of(cls)} found for {what}: not found")
        return entity_reply(found)

    return handle
