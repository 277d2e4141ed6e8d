"""Every field the official spec constrains is checked offline, by the rule the server applies.

The test walks the create schemas of ``shared/reference/model-registry.openapi.yaml`` (formats,
enums, patterns, ``minLength``, required fields), finds each constrained field in the
``FieldFacts`` of :mod:`localhub.types`, and checks that a value violating the rule is refused
and one satisfying it accepted, both by the local store (the Python API, offline) and by a real
``localhub serve``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from localhub.codec import camel, to_request
from localhub.errors import InvalidInputError
from localhub.store import SQLiteStore
from localhub.types import (
    BaseResource,
    DataSet,
    DocArtifact,
    InferenceService,
    Metric,
    ModelArtifact,
    ModelVersion,
    Parameter,
    RegisteredModel,
    ServeModel,
    ServingEnvironment,
    facts,
)

from tests.support.official_spec import SPEC
from tests.support.servers import Server

#: Create schema of the spec -> the domain type we store for it.
CREATES: dict[str, type[BaseResource]] = {
    "RegisteredModelCreate": RegisteredModel, "ModelVersionCreate": ModelVersion,
    "ModelArtifactCreate": ModelArtifact, "DocArtifactCreate": DocArtifact,
    "DataSetCreate": DataSet, "MetricCreate": Metric, "ParameterCreate": Parameter,
    "ServingEnvironmentCreate": ServingEnvironment,
    "InferenceServiceCreate": InferenceService, "ServeModelCreate": ServeModel,
}
#: Rule keywords of the spec a field can carry (``artifactType`` only has a default).
RULES = ("format", "enum", "pattern", "minLength")


@dataclass(frozen=True)
class Rule:
    """One constraint of one field: ``kind`` is ``format:<f>``, ``enum``, ``pattern``,
    ``minLength`` or ``required``."""

    schema: str
    field: str
    kind: str
    spec: Any

    def __str__(self) -> str:
        return f"{self.schema}.{camel(self.field)}:{self.kind}"


def _resolve(schemas: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with ``$ref`` and ``allOf`` flattened: merged properties and required list."""
    if "$ref" in node:
        return _resolve(schemas, schemas[node["$ref"].rsplit("/", 1)[-1]])
    props: dict[str, Any] = {}
    required: list[str] = list(node.get("required", []))
    for part in node.get("allOf", []):
        flat = _resolve(schemas, part)
        for name, prop in flat["properties"].items():
            props[name] = {**props.get(name, {}), **prop}
        required += flat["required"]
    for name, prop in node.get("properties", {}).items():
        props[name] = {**props.get(name, {}), **_resolve_prop(schemas, prop)}
    return {"properties": props, "required": required}


def _resolve_prop(schemas: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in prop:
        return dict(schemas[prop["$ref"].rsplit("/", 1)[-1]])
    out = {k: v for k, v in prop.items() if k != "allOf"}
    for part in prop.get("allOf", []):
        out.update(_resolve_prop(schemas, part))
    return out


def spec_rules() -> list[Rule]:
    """Every constraint the spec puts on a field of a create body we store."""
    schemas = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
    by_camel = {schema: {camel(n): n for n in facts(cls)} for schema, cls in CREATES.items()}
    found: list[Rule] = []
    for schema in CREATES:
        flat = _resolve(schemas, schemas[schema])
        for key, prop in flat["properties"].items():
            rules = [(k, prop[k]) for k in RULES if k in prop]
            if key in flat["required"]:
                rules.append(("required", True))
            if not rules or key == "artifactType":
                continue
            assert key in by_camel[schema], f"{schema}.{key} has no field in localhub.types"
            name = by_camel[schema][key]
            for kind, value in rules:
                label = f"format:{value}" if kind == "format" else kind
                found.append(Rule(schema, name, label, value))
    return found


RULES_FOUND = spec_rules()


def test_the_spec_constrains_the_fields_we_expect() -> None:
    """The walk finds the spec's constraints (a broken walk would make the checks vacuous)."""
    names = {str(r) for r in RULES_FOUND}
    for expected in ("RegisteredModelCreate.logo:format:uri",
                     "RegisteredModelCreate.licenseLink:format:uri",
                     "RegisteredModelCreate.state:enum", "RegisteredModelCreate.name:required",
                     "ModelVersionCreate.registeredModelId:pattern",
                     "MetricCreate.timestamp:format:int64", "MetricCreate.value:format:double",
                     "ParameterCreate.parameterType:enum",
                     "InferenceServiceCreate.desiredState:enum",
                     "ServeModelCreate.lastKnownState:enum"):
        assert expected in names, sorted(names)


#: What a field of each rule is declared as in its ``FieldFacts``.
DECLARED = {"format:uri": {"link"}, "format:int64": {"int64", "id"}, "format:double": {"number"},
            "pattern": {"id"}, "minLength": {"name", "id"}}


@pytest.mark.parametrize("rule", RULES_FOUND, ids=str)
def test_every_constrained_field_is_declared_in_its_facts(rule: Rule) -> None:
    """Each constrained field's facts carry the spec's rule (kind, enum values, required)."""
    fact = facts(CREATES[rule.schema])[rule.field]
    if rule.kind == "enum":
        assert fact.enum is not None and [m.value for m in fact.enum] == rule.spec
    elif rule.kind == "required":
        assert fact.required
    else:
        assert fact.value in DECLARED[rule.kind], (rule, fact.value)


def _values(rule: Rule) -> tuple[Any, Any]:
    """(a value violating the rule, one satisfying it)."""
    if rule.kind == "enum":
        return "NOT-A-MEMBER", rule.spec[-1]
    if facts(CREATES[rule.schema])[rule.field].value == "id":
        return ("0" if rule.kind == "pattern" else "" if rule.kind == "minLength"
                else None if rule.kind == "required" else "12 steps"), None
    return {
        "format:uri": ("logo.png", "https://example.com/logo.png"),
        "format:int64": ("12 steps", "12"),
        "format:double": ("NaN", 0.5),
        "pattern": ("0", None),
        "minLength": ("", None),
        "required": (None, None),
    }[rule.kind]


class World:
    """Valid entities of every kind whose parents exist, in a local store and on a server."""

    def __init__(self, store: SQLiteStore, server: Server) -> None:
        self.store, self.server = store, server
        self._n = itertools.count()
        self.local: dict[str, str] = {}
        self.remote: dict[str, str] = {}
        for side in ("local", "remote"):
            ids = self.local if side == "local" else self.remote
            ids["rm"] = self._make(side, RegisteredModel(name=self.name()))
            ids["mv"] = self._make(side, ModelVersion(name=self.name(),
                                                      registered_model_id=ids["rm"]))
            ids["se"] = self._make(side, ServingEnvironment(name=self.name()))
            ids["is"] = self._make(side, InferenceService(
                name=self.name(), registered_model_id=ids["rm"],
                serving_environment_id=ids["se"]))

    def name(self) -> str:
        return f"n{next(self._n)}"

    def _make(self, side: str, entity: BaseResource) -> str:
        if side == "local":
            return str(self.store.create(entity).id)
        reply = self.post(entity)
        assert reply.status_code in (200, 201), reply.text
        return str(reply.json()["id"])

    def valid(self, cls: type[BaseResource], side: str) -> BaseResource:
        """A valid new entity of ``cls`` under the parents of ``side``."""
        ids = self.local if side == "local" else self.remote
        if cls is RegisteredModel or cls is ServingEnvironment:
            return cls(name=self.name())  # type: ignore[call-arg]  # an artifact class
        if cls is ModelVersion:
            return ModelVersion(name=self.name(), registered_model_id=ids["rm"])
        if cls is InferenceService:
            return InferenceService(name=self.name(), registered_model_id=ids["rm"],
                                    serving_environment_id=ids["se"])
        if cls is ServeModel:
            return ServeModel(model_version_id=ids["mv"], inference_service_id=ids["is"])
        return cls(name=self.name())  # type: ignore[call-arg]  # an artifact class

    def post(self, entity: BaseResource, changes: dict[str, Any] | None = None, *,
             drop: str | None = None) -> requests.Response:
        """POST ``entity``'s create body with ``changes`` applied and key ``drop`` left out."""
        body = {**to_request(entity), **(changes or {})}
        body = {k: v for k, v in body.items() if v is not None and k != drop}
        path = {"registered-model": "/registered_models", "model-version": "/model_versions",
                "serving-environment": "/serving_environments",
                "inference-service": "/inference_services"}.get(entity.kind, "/artifacts")
        if isinstance(entity, ServeModel):
            path = f"/inference_services/{self.remote['is']}/serves"
        return requests.post(self.server.api + path, json=body, timeout=10)


@pytest.fixture(scope="module")
def world(shared: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    store = SQLiteStore(Path(tmp_path_factory.mktemp("spec")) / "local.db")
    yield World(store, shared)
    store.close()


def _with(entity: BaseResource, field: str, value: Any) -> BaseResource:
    return replace(entity, **{field: value})


@pytest.mark.parametrize("rule", RULES_FOUND, ids=str)
def test_offline_check_refuses_what_the_spec_refuses(world: World, rule: Rule) -> None:
    """The local store refuses a value violating the rule and accepts one satisfying it."""
    cls = CREATES[rule.schema]
    bad, good = _values(rule)
    entity = world.valid(cls, "local")
    with pytest.raises(InvalidInputError):
        world.store.create(_with(entity, rule.field, bad))
    if good is not None:
        entity = world.valid(cls, "local")
        entity = _with(entity, rule.field, good)
        assert world.store.create(entity).id is not None
    else:  # names and parent ids: the valid entity holds a satisfying value
        assert world.store.create(world.valid(cls, "local")).id is not None


@pytest.mark.parametrize("rule", RULES_FOUND, ids=str)
def test_serve_refuses_what_the_spec_refuses(world: World, rule: Rule) -> None:
    """serve answers 400 for a body violating the rule and creates one satisfying it."""
    cls = CREATES[rule.schema]
    bad, good = _values(rule)
    key = camel(rule.field)
    entity = world.valid(cls, "remote")
    if rule.kind == "required":
        reply = world.post(entity, drop=key)
    else:
        reply = world.post(entity, {key: bad})
    assert reply.status_code in (400, 422), (rule, reply.status_code, reply.text)
    changes = {} if good is None else {key: good}
    reply = world.post(world.valid(cls, "remote"), changes)
    assert reply.status_code in (200, 201), (rule, reply.text)
