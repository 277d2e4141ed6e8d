"""Registered models and model versions."""

from __future__ import annotations

from dataclasses import replace

from ..codec import decode_create
from ..types import ModelVersion, RegisteredModel
from .http import Ctx, Handler, Reply, entity_reply
from .resources import find_handler, get_handler, list_handler, patch_handler

__all__ = ["ROUTES"]


def create_model(ctx: Ctx) -> Reply:
    """POST /registered_models."""
    model = decode_create(RegisteredModel, ctx.json())
    return entity_reply(ctx.store.create(model), 201)


def create_version(ctx: Ctx) -> Reply:
    """POST /model_versions (the parent model must exist: 404 otherwise)."""
    version = decode_create(ModelVersion, ctx.json())
    return entity_reply(ctx.store.create(version), 201)


def create_model_version(ctx: Ctx) -> Reply:
    """POST /registered_models/{id}/versions: full ModelVersion body, the path id wins."""
    model_id = ctx.id("rm")
    version = decode_create(ModelVersion, ctx.json(), read_only=True)
    return entity_reply(ctx.store.create(replace(version, registered_model_id=model_id)), 201)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/registered_models", list_handler(RegisteredModel)),
    ("POST", "/registered_models", create_model),
    ("GET", "/registered_model", find_handler(RegisteredModel, child=False)),
    ("GET", "/registered_models/{rm}", get_handler(RegisteredModel, "rm")),
    ("PATCH", "/registered_models/{rm}", patch_handler(RegisteredModel, "rm")),
    ("GET", "/registered_models/{rm}/versions",
     list_handler(ModelVersion, parent_key="rm", by_name=True)),
    ("POST", "/registered_models/{rm}/versions", create_model_version),
    ("GET", "/model_versions", list_handler(ModelVersion)),
    ("POST", "/model_versions", create_version),
    ("GET", "/model_version", find_handler(ModelVersion, child=True)),
    ("GET", "/model_versions/{mv}", get_handler(ModelVersion, "mv")),
    ("PATCH", "/model_versions/{mv}", patch_handler(ModelVersion, "mv")),
]
