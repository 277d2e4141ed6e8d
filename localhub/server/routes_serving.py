"""Serving environments, inference services and their serve-model executions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..codec import decode_create
from ..types import (
    BaseResource,
    InferenceService,
    ModelVersion,
    RegisteredModel,
    ServeModel,
    ServingEnvironment,
)
from .http import ApiError, Ctx, Handler, Reply, entity_reply, require
from .resources import find_handler, get_handler, list_handler, patch_handler

__all__ = ["ROUTES"]


def _check_refs(ctx: Ctx, model_id: str | None, version_id: str | None) -> None:
    """404 unless the referenced model and version exist (the version within the model)."""
    if model_id is not None:
        require(ctx.store.get(RegisteredModel, model_id), "registered model", model_id)
    if version_id is not None:
        version = require(ctx.store.get(ModelVersion, version_id), "model version", version_id)
        if model_id is not None and version.registered_model_id != model_id:
            raise ApiError(400, f"model version {version_id} does not belong to registered "
                                f"model {model_id}: bad request")


def create_environment(ctx: Ctx) -> Reply:
    """POST /serving_environments."""
    environment = decode_create(ServingEnvironment, ctx.json())
    return entity_reply(ctx.store.create(environment), 201)


def _create_service(ctx: Ctx, service: InferenceService) -> Reply:
    _check_refs(ctx, service.registered_model_id, service.model_version_id)
    return entity_reply(ctx.store.create(service), 201)


def create_service(ctx: Ctx) -> Reply:
    """POST /inference_services."""
    return _create_service(ctx, decode_create(InferenceService, ctx.json()))


def create_environment_service(ctx: Ctx) -> Reply:
    """POST /serving_environments/{id}/inference_services: the path id wins."""
    environment_id = ctx.id("se")
    service = decode_create(InferenceService, ctx.json())
    return _create_service(ctx, replace(service, serving_environment_id=environment_id))


def _check_service_patch(ctx: Ctx, current: BaseResource, delta: dict[str, Any]) -> None:
    assert isinstance(current, InferenceService)
    if "model_version_id" in delta:
        _check_refs(ctx, current.registered_model_id, delta["model_version_id"])


def service_model(ctx: Ctx) -> Reply:
    """GET /inference_services/{id}/model: the registered model it serves."""
    service = _service(ctx)
    model_id = service.registered_model_id
    return entity_reply(require(ctx.store.get(RegisteredModel, model_id), "registered model",
                                model_id))


def service_version(ctx: Ctx) -> Reply:
    """GET /inference_services/{id}/version: its model version, else the model's newest."""
    service = _service(ctx)
    if service.model_version_id is not None:
        return entity_reply(require(ctx.store.get(ModelVersion, service.model_version_id),
                                    "model version", service.model_version_id))
    page = ctx.store.list_page(ModelVersion, parent_id=service.registered_model_id,
                          order_by="CREATE_TIME", sort_order="DESC", page_size=1)
    if not page.items:
        raise ApiError(404, f"no model version found for inference service {service.id}: "
                            "not found")
    return entity_reply(page.items[0])


def create_serve(ctx: Ctx) -> Reply:
    """POST /inference_services/{id}/serves."""
    service = _service(ctx)
    serve = decode_create(ServeModel, ctx.json())
    _check_refs(ctx, None, serve.model_version_id)
    assert service.id is not None
    return entity_reply(ctx.store.create(replace(serve, inference_service_id=service.id)), 201)


def _service(ctx: Ctx) -> InferenceService:
    service_id = ctx.id("is")
    return require(ctx.store.get(InferenceService, service_id), "inference service", service_id)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/serving_environments", list_handler(ServingEnvironment)),
    ("POST", "/serving_environments", create_environment),
    ("GET", "/serving_environment", find_handler(ServingEnvironment, child=False)),
    ("GET", "/serving_environments/{se}", get_handler(ServingEnvironment, "se")),
    ("PATCH", "/serving_environments/{se}", patch_handler(ServingEnvironment, "se")),
    ("GET", "/serving_environments/{se}/inference_services",
     list_handler(InferenceService, parent_key="se", by_name=True)),
    ("POST", "/serving_environments/{se}/inference_services", create_environment_service),
    ("GET", "/inference_services", list_handler(InferenceService)),
    ("POST", "/inference_services", create_service),
    ("GET", "/inference_service", find_handler(InferenceService, child=True)),
    ("GET", "/inference_services/{is}", get_handler(InferenceService, "is")),
    ("PATCH", "/inference_services/{is}",
     patch_handler(InferenceService, "is", check=_check_service_patch)),
    ("GET", "/inference_services/{is}/model", service_model),
    ("GET", "/inference_services/{is}/version", service_version),
    ("GET", "/inference_services/{is}/serves",
     list_handler(ServeModel, parent_key="is", by_name=True)),
    ("POST", "/inference_services/{is}/serves", create_serve),
]
