"""The official Model Registry OpenAPI spec (beside the project, in ``shared/reference``),
loaded for schemathesis by the server tests and the bad input soak."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["SPEC", "load_spec"]

SPEC = Path(__file__).resolve().parents[3] / "shared" / "reference" / \
    "model-registry.openapi.yaml"


def load_spec() -> Any:
    """The spec as a schemathesis schema, each artifact schema's ``artifactType`` pinned to its
    discriminator value.

    Plain JSON Schema cannot tell the five artifact schemas apart (none forbids extra keys), so
    every correct artifact matches several branches of the ``Artifact`` ``oneOf``. OpenAPI's
    ``discriminator`` resolves that; we encode the same rule as an ``enum`` (in memory only).
    """
    import schemathesis
    import yaml

    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    schemas = raw["components"]["schemas"]
    for union in ("Artifact", "ArtifactCreate", "ArtifactUpdate"):
        for kind, ref in schemas[union]["discriminator"]["mapping"].items():
            target = schemas[ref.rsplit("/", 1)[-1]]
            target.setdefault("properties", {})
            for part in target.get("allOf", []):
                if "artifactType" in part.get("properties", {}):
                    part["properties"]["artifactType"]["enum"] = [kind]
            if "artifactType" in target["properties"]:
                target["properties"]["artifactType"]["enum"] = [kind]
    return schemathesis.openapi.from_dict(raw)
