"""The REST paths of the Model Registry API and descriptions of the requests the client sends.

One place knows which path a create, a read or an update of each entity type goes to, so the
REST client sends it and the sync dry run shows it from the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .types import Artifact, BaseResource, ModelVersion, RegisteredModel, ServingEnvironment

__all__ = ["COLLECTION", "RequestDescription", "create_path", "entity_path"]

COLLECTION: dict[type[BaseResource], str] = {
    RegisteredModel: "/registered_models", ModelVersion: "/model_versions",
    ServingEnvironment: "/serving_environments"}


@dataclass(frozen=True)
class RequestDescription:
    """A request the client would send: method, path (with the API prefix) and body."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    #: Shown after the request line, e.g. "If-Match".
    note: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.note})" if self.note else "")


def create_path(cls: type[BaseResource], parent_id: str | None) -> str:
    """Where a new entity of ``cls`` is POSTed: artifacts under version ``parent_id``, or
    ``/artifacts`` when it has none."""
    if issubclass(cls, Artifact):
        return "/artifacts" if parent_id is None else f"/model_versions/{parent_id}/artifacts"
    for base, path in COLLECTION.items():
        if issubclass(cls, base):
            return path
    raise TypeError(f"cannot create {cls.__name__} remotely")


def entity_path(cls: type[BaseResource], remote_id: str) -> str:
    """The path of one entity (GET, PATCH)."""
    if issubclass(cls, Artifact):
        return f"/artifacts/{remote_id}"
    return f"{COLLECTION[cls]}/{remote_id}"
