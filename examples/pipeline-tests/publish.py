"""A pipeline step: publish a trained model to the Model Registry if it beats the best so far."""

from __future__ import annotations

from dataclasses import dataclass

from model_registry import ModelRegistry


@dataclass(frozen=True)
class Published:
    """What the step did: the version it registered, or None when it kept the current best."""

    version: str | None
    best_accuracy: float


def best_accuracy(registry: ModelRegistry, name: str) -> float | None:
    """The highest ``accuracy`` among the model's versions, or None for a new model."""
    if registry.get_registered_model(name) is None:
        return None
    scores = [float(v.custom_properties.get("accuracy", 0.0))
              for v in registry.get_model_versions(name)]
    return max(scores, default=None)


def publish(registry: ModelRegistry, name: str, uri: str, *, version: str,
            accuracy: float) -> Published:
    """Register ``uri`` as ``name`` ``version`` unless an existing version scores higher."""
    best = best_accuracy(registry, name)
    if best is not None and accuracy <= best:
        return Published(version=None, best_accuracy=best)
    registry.register_model(name, uri, version=version, model_format_name="onnx",
                            model_format_version="1", metadata={"accuracy": accuracy})
    return Published(version=version, best_accuracy=accuracy)


def connect(host: str, port: int, *, token: str | None = None) -> ModelRegistry:
    """The registry client as the pipeline builds it (in a cluster: the service's address)."""
    return ModelRegistry(server_address=host, port=port, author="pipeline", is_secure=False,
                         user_token=token)
