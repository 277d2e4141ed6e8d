"""Model artifacts, the generic ``/artifacts`` and a model version's artifacts (upsert)."""

from __future__ import annotations

from typing import Any

from ..codec import artifact_class, decode_create, decode_update, overlay
from ..types import Artifact, DocArtifact, Metric, ModelArtifact, ModelVersion, Parameter
from .http import ApiError, Ctx, Handler, Reply, check_if_match, entity_reply, parse_id, require
from .resources import find_handler, get_handler, list_handler, patch_entity, patch_handler

__all__ = ["ROUTES"]

#: Types the upsert answers with 201 when new (the Go server answers 200 for the others).
_CREATED_201 = (ModelArtifact, DocArtifact)
#: Types whose upsert with a taken name updates the existing artifact instead of conflicting.
_UPDATE_BY_NAME = (Metric, Parameter)


def _body_type(body: Any) -> type[Artifact]:
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object: bad request")
    return artifact_class(body.get("artifactType"))


def create_model_artifact(ctx: Ctx) -> Reply:
    """POST /model_artifacts: a model artifact linked to no version."""
    artifact = decode_create(ModelArtifact, ctx.json())
    return entity_reply(ctx.store.create(artifact), 201)


def create_artifact(ctx: Ctx) -> Reply:
    """POST /artifacts: any artifact type (oneOf body: unknown keys ignored)."""
    body = ctx.json()
    artifact = decode_create(_body_type(body), body, strict=False)
    return entity_reply(ctx.store.create(artifact), 201)


def patch_artifact(ctx: Ctx) -> Reply:
    """PATCH /artifacts/{id}: ``artifactType`` is required and must match the stored one."""
    artifact_id = ctx.id("art")
    body = ctx.json()
    cls = _body_type(body)

    def changes(current: Any) -> dict[str, Any]:
        if type(current) is not cls:
            raise ApiError(400, f"cannot change artifact type from {current.kind!r} to "
                                f"{cls.kind!r}: bad request")
        return decode_update(cls, body, strict=False)

    return patch_entity(ctx, Artifact, artifact_id, changes)


def upsert_version_artifact(ctx: Ctx) -> Reply:
    """POST /model_versions/{id}/artifacts: create in the version, or update by id/name."""
    version_id = ctx.id("mv")
    body = ctx.json()
    cls = _body_type(body)
    raw_id = body.get("id")
    with ctx.lock, ctx.store.batch():  # read, check and write in one transaction
        require(ctx.store.get(ModelVersion, version_id), "model version", version_id)
        if raw_id is not None:
            artifact_id = parse_id(str(raw_id), what="artifact id")
            current = require(ctx.store.get(Artifact, artifact_id), "artifact", artifact_id)
            owner = ctx.store.artifact_version_id(artifact_id)
            if owner is not None and owner != version_id:
                raise ApiError(400, f"artifact {artifact_id} belongs to model version {owner}"
                                    "; localhub links each artifact to one version: bad request")
            if owner is None:
                # Upstream's upsert by id links an existing artifact (one created with
                # POST /model_artifacts) to the version: kubeflow/model-registry
                # internal/core/artifact.go UpsertModelVersionArtifact (attribution, no copy).
                if type(current) is not cls:
                    raise ApiError(400, f"cannot change artifact type from {current.kind!r} "
                                        f"to {cls.kind!r}: bad request")
                check_if_match(ctx, current)
                current = ctx.store.attach_artifact(artifact_id, version_id)
            return _update(ctx, current, cls, body)
        artifact = decode_create(cls, body, strict=False)
        if artifact.name is not None and cls in _UPDATE_BY_NAME:
            existing = ctx.store.find(cls, name=artifact.name, parent_id=version_id)
            if existing is not None:
                return _update(ctx, existing, cls, body)
        created = ctx.store.create(artifact, version_id=version_id)
    return entity_reply(created, 201 if cls in _CREATED_201 else 200)


def _update(ctx: Ctx, current: Artifact, cls: type[Artifact], body: Any) -> Reply:
    if type(current) is not cls:
        raise ApiError(400, f"cannot change artifact type from {current.kind!r} to "
                            f"{cls.kind!r}: bad request")
    check_if_match(ctx, current)
    return entity_reply(ctx.store.update(overlay(current, decode_update(cls, body,
                                                                        strict=False))))


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/model_artifacts", list_handler(ModelArtifact)),
    ("POST", "/model_artifacts", create_model_artifact),
    ("GET", "/model_artifact", find_handler(ModelArtifact, child=True)),
    ("GET", "/model_artifacts/{ma}", get_handler(ModelArtifact, "ma")),
    ("PATCH", "/model_artifacts/{ma}", patch_handler(ModelArtifact, "ma")),
    ("GET", "/artifacts", list_handler(Artifact, by_type=True)),
    ("POST", "/artifacts", create_artifact),
    ("GET", "/artifact", find_handler(Artifact, child=True)),
    ("GET", "/artifacts/{art}", get_handler(Artifact, "art")),
    ("PATCH", "/artifacts/{art}", patch_artifact),
    ("GET", "/model_versions/{mv}/artifacts",
     list_handler(Artifact, parent_key="mv", by_name=True, by_type=True)),
    ("POST", "/model_versions/{mv}/artifacts", upsert_version_artifact),
]
