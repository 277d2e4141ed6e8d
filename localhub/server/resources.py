"""Handler factories for the operations every entity family shares: get, patch, list, find."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..codec import decode_update, overlay
from ..store import Page
from ..types import BaseResource
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
    from .._entities import SPECS

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
            from ..codec import WireFormatError, artifact_class

            try:
                kinds = [artifact_class(ctx.arg("artifactType")).kind]
            except WireFormatError as exc:
                raise ApiError(400, f"{exc.message}: bad request") from None
        options = list_options(ctx, extra_filter=name_filter(ctx) if by_name else None)
        page: Page = ctx.store.list(cls, parent_id=parent_id, kinds=kinds, **options)
        return list_reply(page)

    return handle


def find_handler(cls: type[BaseResource], *, child: bool) -> Handler:
    """GET the one entity with an exact ``name`` (in ``parentResourceId``) or ``externalId``."""

    def handle(ctx: Ctx) -> Reply:
        name, external_id = ctx.arg("name"), ctx.arg("externalId")
        parent = ctx.arg("parentResourceId")
        if name is None and external_id is None:
            raise ApiError(400, "either name or externalId is required: bad request")
        if child and name is not None and parent is None:
            raise ApiError(400, "parentResourceId is required with name: bad request")
        parent_id = parse_id(parent, what="parentResourceId") if child and parent else None
        found = ctx.store.find(cls, name=name, parent_id=parent_id, external_id=external_id)
        if found is None:
            what = f"name {name!r}" if name is not None else f"externalId {external_id!r}"
            raise ApiError(404, f"no {label_of(cls)} found for {what}: not found")
        return entity_reply(found)

    return handle
