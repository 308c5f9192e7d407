"""The CRD schemas describe exactly the fields of the models: same paths, same required
fields, and types that mean what the model means."""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, Field

from k8s4ai.api import (
    accelerator,
    budget,
    checkpoint,
    crd,
    gang,
    inference,
    meta,
    node,
    queue,
    registry,
    resource,
    topology,
)


@dataclass
class Tree:
    """Field paths (`spec.podSets[].resources.gpus`; `[]` is a list item, `{}` a map value)
    and, per object, the names of its required fields."""

    paths: set[str] = field(default_factory=set)
    required: dict[str, set[str]] = field(default_factory=dict)


def _walk_type(annotation: Any, path: str, tree: Tree) -> None:
    origin = get_origin(annotation)
    if origin is Annotated:
        _walk_type(get_args(annotation)[0], path, tree)
    elif origin in (Union, types.UnionType):
        for member in get_args(annotation):
            _walk_type(member, path, tree)
    elif origin is list:
        _walk_type(get_args(annotation)[0], f"{path}[]", tree)
    elif origin is dict:
        _walk_type(get_args(annotation)[1], f"{path}{{}}", tree)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _walk_model(annotation, path, tree)


def _walk_model(model: type[BaseModel], path: str, tree: Tree) -> None:
    fields = model.model_fields
    tree.required[path] = {
        info.alias or name for name, info in fields.items() if info.is_required()
    }
    for name, info in fields.items():
        child = f"{path}.{info.alias or name}"
        tree.paths.add(child)
        _walk_type(info.annotation, child, tree)


def _walk_schema(node: dict[str, Any], path: str, tree: Tree) -> None:
    if node.get("type") == "object" and "additionalProperties" not in node:
        tree.required[path] = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        tree.paths.add(f"{path}.{name}")
        _walk_schema(child, f"{path}.{name}", tree)
    if "items" in node:
        _walk_schema(node["items"], f"{path}[]", tree)
    if isinstance(node.get("additionalProperties"), dict):
        _walk_schema(node["additionalProperties"], f"{path}{{}}", tree)


def _schema(kind: type[resource.Resource]) -> dict[str, Any]:
    schema: dict[str, Any] = crd.crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _trees(kind: type[resource.Resource]) -> tuple[Tree, Tree]:
    """(from the model, from the CRD), for spec and status."""
    model, schema = Tree(), Tree()
    root = _schema(kind)
    for part in ("spec", "status"):
        _walk_type(kind.model_fields[part].annotation, part, model)
        _walk_schema(root["properties"][part], part, schema)
    return model, schema


def _difference(model: set[str], schema: set[str]) -> dict[str, list[str]]:
    return {"only in the model": sorted(model - schema), "only in the CRD": sorted(schema - model)}


KINDS = pytest.mark.parametrize("kind", registry.KINDS, ids=lambda kind: kind.kind_name)
NO_DIFFERENCE: dict[str, list[str]] = {"only in the model": [], "only in the CRD": []}


@KINDS
def test_field_paths_match_the_model(kind: type[resource.Resource]) -> None:
    model, schema = _trees(kind)
    assert model.paths, "the walk found no fields"
    assert _difference(model.paths, schema.paths) == NO_DIFFERENCE


@KINDS
def test_required_fields_match_the_model(kind: type[resource.Resource]) -> None:
    model, schema = _trees(kind)
    assert _difference(set(model.required), set(schema.required)) == NO_DIFFERENCE
    assert schema.required == model.required


@KINDS
def test_root_has_the_resource_shape(kind: type[resource.Resource]) -> None:
    root = _schema(kind)
    properties = root["properties"]
    assert list(properties) == ["apiVersion", "kind", "metadata", "spec", "status"]
    assert properties["apiVersion"] == {"type": "string"}
    assert properties["kind"] == {"type": "string"}
    assert properties["metadata"] == {"type": "object"}
    assert properties["status"]["type"] == "object"
    expected = {
        info.alias or name for name, info in kind.model_fields.items() if info.is_required()
    }
    assert set(root["required"]) == expected
    assert root["description"]


def _at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The node for `spec.podSets[].resources`-style paths."""
    node = schema
    for part in re.findall(r"[^.\[\]]+|\[\]", path):
        node = node["items"] if part == "[]" else node["properties"][part]
    return node


INT_OR_STRING = {
    "x-kubernetes-int-or-string": True,
    "anyOf": [{"type": "integer"}, {"type": "string"}],
}
CASES: dict[str, tuple[type[resource.Resource], str, dict[str, Any]]] = {
    "Quantity is int-or-string": (accelerator.AcceleratorClass, "spec.vram", INT_OR_STRING),
    "optional Quantity is nullable": (
        node.Node,
        "status.allocatedCpu",
        {**INT_OR_STRING, "nullable": True},
    ),
    "Optional is nullable": (
        accelerator.AcceleratorClass,
        "spec.fp8Tflops",
        {"type": "number", "nullable": True, "minimum": 0},
    ),
    "date": (budget.Budget, "spec.start", {"type": "string", "format": "date", "nullable": True}),
    "datetime": (
        gang.GangSchedulingGroup,
        "status.startTime",
        {"type": "string", "format": "date-time", "nullable": True},
    ),
    "map of strings": (
        node.Node,
        "spec.topology",
        {"type": "object", "additionalProperties": {"type": "string"}},
    ),
    "map of ints": (
        topology.TopologyDomain,
        "status.domains",
        {"type": "object", "additionalProperties": {"type": "integer"}},
    ),
    "labels": (
        accelerator.AcceleratorClass,
        "spec.nodeLabels",
        {"type": "object", "additionalProperties": {"type": "string"}},
    ),
    "exclusive minimum": (
        queue.Queue,
        "spec.weight",
        {"type": "number", "minimum": 0, "exclusiveMinimum": True, "default": 1.0},
    ),
    "Literal is an enum": (
        queue.Queue,
        "spec.stopPolicy",
        {"type": "string", "enum": ["None", "Hold", "HoldAndDrain"], "default": "None"},
    ),
    "GPU count is a number": (
        inference.InferenceService,
        "spec.resources.gpus",
        {"type": "number", "minimum": 0, "default": 0},
    ),
    "list of models": (gang.GangSchedulingGroup, "spec.podSets", {"type": "array", "minItems": 1}),
    "bounded int": (
        accelerator.AcceleratorClass,
        "spec.migProfiles[].computeSlices",
        {"type": "integer", "minimum": 1, "maximum": 7},
    ),
}


@pytest.mark.parametrize(("kind", "path", "expected"), CASES.values(), ids=CASES.keys())
def test_field_schema(kind: type[resource.Resource], path: str, expected: dict[str, Any]) -> None:
    node = _at(_schema(kind), path)
    assert {key: node.get(key) for key in expected} == expected
    assert "title" not in node


def test_duration_or_auto_is_one_string() -> None:
    interval = _at(_schema(checkpoint.CheckpointPolicy), "spec.interval")
    assert interval["type"] == "string"
    assert interval["default"] == "auto"
    assert "anyOf" not in interval
    pattern = re.compile(interval["pattern"])
    accepted = {
        text: bool(pattern.search(text)) for text in ("auto", "90s", "1h30m", "soon", "autox")
    }
    assert accepted == {"auto": True, "90s": True, "1h30m": True, "soon": False, "autox": False}


def test_patterns_have_no_python_named_groups() -> None:
    text = crd.crds_yaml()
    assert "(?P<" not in text


class _Branch(meta.Model):
    children: list[_Branch] = Field(default_factory=list)


class _Recursive(resource.Resource):
    kind_name: ClassVar[str] = "Recursive"
    plural: ClassVar[str] = "recursives"
    kind: Literal["Recursive"] = "Recursive"
    spec: _Branch


class _A(meta.Model):
    a: int


class _B(meta.Model):
    b: str


class _EitherSpec(meta.Model):
    value: _A | _B


class _Either(resource.Resource):
    kind_name: ClassVar[str] = "Either"
    plural: ClassVar[str] = "eithers"
    kind: Literal["Either"] = "Either"
    spec: _EitherSpec


class _FreeSpec(meta.Model):
    anything: Any = None
    tags: set[str] = Field(default_factory=set)


class _Free(resource.Resource):
    kind_name: ClassVar[str] = "Free"
    plural: ClassVar[str] = "frees"
    kind: Literal["Free"] = "Free"
    spec: _FreeSpec


@pytest.mark.parametrize(
    ("kind", "message"),
    [(_Recursive, "spec.children[]: _Branch refers to itself"), (_Either, "spec.value: a union")],
    ids=["recursive", "union of models"],
)
def test_inexpressible_models_are_refused(kind: type[resource.Resource], message: str) -> None:
    with pytest.raises(crd.SchemaError, match=re.escape(message)):
        crd.openapi_schema(kind)


def test_free_form_and_set_fields() -> None:
    spec = crd.openapi_schema(_Free)["properties"]["spec"]["properties"]
    assert spec["anything"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert spec["tags"] == {
        "type": "array",
        "x-kubernetes-list-type": "set",
        "items": {"type": "string"},
    }
