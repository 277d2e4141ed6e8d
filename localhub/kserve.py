"""A KServe ``InferenceService`` manifest for a registered model version.

YAML is written by hand (no PyYAML dependency): every string scalar is emitted as a JSON string,
which is a valid YAML double-quoted scalar, so no value can change meaning or break the layout.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import KServeError, NotFoundError, model_missing, version_missing
from .store import SQLiteStore
from .types import ModelArtifact, ModelVersion, RegisteredModel

__all__ = ["LABEL_MODEL", "LABEL_VERSION", "inference_service", "service_name", "to_yaml"]

LABEL_MODEL = "modelregistry.kubeflow.org/registered-model-id"
LABEL_VERSION = "modelregistry.kubeflow.org/model-version-id"
_MAX_NAME = 63
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")


def service_name(model: str, version: str) -> str:
    """A DNS-1035 label (lowercase, digits, '-', starts with a letter, <= 63) for the service."""
    raw = f"{model}-{version}"
    name = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if not name or not name[0].isalpha():
        name = "m-" + name
    if len(name) > _MAX_NAME:
        # Keep long names distinct: cut, then add a short hash of the full name.
        suffix = hashlib.sha256(raw.encode()).hexdigest()[:6]
        name = f"{name[:_MAX_NAME - 7].rstrip('-')}-{suffix}"
    return name.rstrip("-")


def _check_dns(value: str, what: str) -> str:
    if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", value):
        raise KServeError(f"invalid {what} {value!r}: use lowercase letters, digits and '-' "
                          "(at most 63, starting and ending with a letter or digit)")
    return value


def _artifact(store: SQLiteStore, name: str, version: str
              ) -> tuple[RegisteredModel, ModelVersion, ModelArtifact]:
    model = store.find(RegisteredModel, name=name)
    if model is None or model.id is None:
        raise NotFoundError(model_missing(name), entity="registered model", key=name)
    mv = store.find(ModelVersion, name=version, parent_id=model.id)
    if mv is None or mv.id is None:
        raise NotFoundError(version_missing(name, version), entity="model version",
                            key=f"{name}:{version}")
    artifact = store.find(ModelArtifact, name=name, parent_id=mv.id)
    if artifact is None:
        items = [a for a in store.version_artifacts(mv.id) if isinstance(a, ModelArtifact)]
        artifact = items[0] if items else None
    if artifact is None:
        raise KServeError(f"{name} {version} has no model artifact; register it with "
                          "`localhub register NAME URI --version V`")
    return model, mv, artifact


def inference_service(store: SQLiteStore, name: str, version: str, *,
                      namespace: str | None = None, runtime: str | None = None,
                      service: str | None = None) -> dict[str, Any]:
    """The InferenceService for version ``version`` of model ``name``, as plain data."""
    model, mv, artifact = _artifact(store, name, version)
    if not artifact.uri:
        raise KServeError(f"{name} {version} has no artifact URI; set one with "
                          f"`localhub update {name} {version} --uri URI`")
    if not artifact.model_format_name:
        raise KServeError(f"{name} {version} has no model format, which KServe needs; set it "
                          f"with `localhub update {name} {version} --format FORMAT`")
    fmt: dict[str, Any] = {"name": artifact.model_format_name}
    if artifact.model_format_version:
        fmt["version"] = artifact.model_format_version
    predictor_model: dict[str, Any] = {"modelFormat": fmt}
    if runtime:
        predictor_model["runtime"] = runtime
    if artifact.storage_key:
        storage: dict[str, Any] = {"key": artifact.storage_key}
        if artifact.storage_path:
            storage["path"] = artifact.storage_path
        predictor_model["storage"] = storage
    else:
        predictor_model["storageUri"] = artifact.uri
    predictor: dict[str, Any] = {"model": predictor_model}
    if artifact.service_account_name:
        predictor["serviceAccountName"] = artifact.service_account_name
    metadata: dict[str, Any] = {
        "name": _check_dns(service, "--name") if service else service_name(name, version)}
    if namespace:
        metadata["namespace"] = _check_dns(namespace, "namespace")
    metadata["labels"] = {LABEL_MODEL: str(model.id), LABEL_VERSION: str(mv.id)}
    metadata["annotations"] = {"localhub/model-name": name, "localhub/model-version": version}
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": metadata, "spec": {"predictor": predictor}}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if value is None:
        return "null"
    return json.dumps(str(value), ensure_ascii=False)


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _lines(data: Mapping[str, Any], indent: int) -> list[str]:
    pad = "  " * indent
    out: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.append(f"{pad}{_key(key)}:")
            out.extend(_lines(value, indent + 1))
        elif isinstance(value, list):
            out.append(f"{pad}{_key(key)}:")
            out.extend(f"{pad}- {_scalar(item)}" for item in value)
        else:
            out.append(f"{pad}{_key(key)}: {_scalar(value)}")
    return out


def to_yaml(data: Mapping[str, Any]) -> str:
    """Nested mappings of scalars (and lists of scalars) as a YAML document."""
    return "\n".join(["---", *_lines(data, 0)]) + "\n"
