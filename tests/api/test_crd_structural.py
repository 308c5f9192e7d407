"""Every generated CRD schema is structural, and the checker that says so can say no."""

from __future__ import annotations

from typing import Any

import pytest

from k8s4ai.api import crd, registry, resource, structural


def _schema(kind: type[resource.Resource]) -> dict[str, Any]:
    schema: dict[str, Any] = crd.crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _root(**properties: Any) -> dict[str, Any]:
    """A minimal valid resource root with the given extra properties."""
    return {
        "type": "object",
        "properties": {"apiVersion": {"type": "string"}, "metadata": {"type": "object"}}
        | properties,
    }


@pytest.mark.parametrize("kind", registry.KINDS, ids=lambda kind: kind.kind_name)
def test_generated_schema_is_structural(kind: type[resource.Resource]) -> None:
    assert structural.check_structural(_schema(kind)) == []


INT_OR_STRING = {
    "x-kubernetes-int-or-string": True,
    "anyOf": [{"type": "integer"}, {"type": "string"}],
}

BAD: dict[str, tuple[dict[str, Any], str]] = {
    "field without type": (_root(spec={"description": "no type"}), "spec: must have a type"),
    "unknown type": (_root(spec={"type": "null"}), "type 'null' is not one of"),
    "root not object": ({"type": "string"}, "the root must be of type object"),
    "properties and additionalProperties": (
        _root(
            spec={
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            }
        ),
        "mutually exclusive",
    ),
    "additionalProperties false": (
        _root(spec={"type": "object", "additionalProperties": False}),
        "additionalProperties cannot be false",
    ),
    "array without items": (_root(spec={"type": "array"}), "spec.items: must be specified"),
    "items as a list": (
        _root(spec={"type": "array", "items": [{"type": "string"}]}),
        "must be one schema",
    ),
    "type inside anyOf": (
        _root(spec={"type": "string", "anyOf": [{"type": "string"}, {"pattern": "^a"}]}),
        "spec.anyOf[0]: type is not allowed",
    ),
    "description inside allOf": (
        _root(spec={"type": "string", "allOf": [{"description": "x"}]}),
        "spec.allOf[0]: description is not allowed",
    ),
    "default inside oneOf": (
        _root(spec={"type": "string", "oneOf": [{"default": "a"}]}),
        "default is not allowed",
    ),
    "nullable inside not": (
        _root(spec={"type": "string", "not": {"nullable": True}}),
        "spec.not: nullable is not allowed",
    ),
    "additionalProperties inside anyOf": (
        _root(spec={"type": "object", "anyOf": [{"additionalProperties": {"type": "string"}}]}),
        "additionalProperties is not allowed",
    ),
    "extension inside anyOf": (
        _root(spec={"type": "string", "anyOf": [{"x-kubernetes-int-or-string": True}]}),
        "x-kubernetes-int-or-string is not allowed",
    ),
    "field only inside a junctor": (
        _root(spec={"type": "object", "anyOf": [{"properties": {"a": {"minLength": 1}}}]}),
        "spec.anyOf[0].properties.a: must also be declared outside",
    ),
    "item only inside a junctor": (
        _root(spec={"type": "object", "allOf": [{"items": {"minLength": 1}}]}),
        "spec.allOf[0].items: must also be declared outside",
    ),
    "$ref": (_root(spec={"$ref": "#/definitions/Spec"}), "$ref references are not supported"),
    "$defs": (_root(spec={"type": "object", "$defs": {}}), "$defs is not supported"),
    "const": (_root(spec={"type": "string", "const": "a"}), "'const' is not an OpenAPI v3"),
    "uniqueItems": (
        _root(spec={"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        "uniqueItems cannot be true",
    ),
    "numeric exclusiveMinimum": (
        _root(spec={"type": "number", "exclusiveMinimum": 0}),
        "exclusiveMinimum must be a boolean",
    ),
    "preserve-unknown-fields false": (
        _root(spec={"type": "object", "x-kubernetes-preserve-unknown-fields": False}),
        "must be true or absent",
    ),
    "int-or-string with a type": (
        _root(spec={**INT_OR_STRING, "type": "string"}),
        "type must be empty when x-kubernetes-int-or-string",
    ),
    "int-or-string with another anyOf": (
        _root(spec={"x-kubernetes-int-or-string": True, "anyOf": [{"type": "string"}]}),
        "spec.anyOf: with x-kubernetes-int-or-string must be",
    ),
    "embedded resource not an object": (
        _root(spec={"type": "string", "x-kubernetes-embedded-resource": True}),
        "needs type object",
    ),
    "metadata restricted beyond name": (
        _root(metadata={"type": "object", "properties": {"namespace": {"type": "string"}}}),
        "metadata.properties.namespace: only name and generateName",
    ),
    "metadata default": (
        _root(metadata={"type": "object", "properties": {"name": {"default": "x"}}}),
        "metadata.properties.name: may only add string validations",
    ),
    "metadata with a description": (
        _root(metadata={"type": "object", "description": "meta"}),
        "metadata: description is not allowed",
    ),
    "kind not a string": (_root(kind={"type": "integer"}), "kind: must be of type string"),
    "default of the wrong type": (
        _root(spec={"type": "integer", "default": "one"}),
        "spec.default: 'one' is not of type integer",
    ),
    "default outside the pattern": (
        _root(spec={"type": "string", "pattern": "^[a-z]+$", "default": "A"}),
        "spec.default",
    ),
    "default with an unknown field": (
        _root(
            spec={"type": "object", "properties": {"a": {"type": "string"}}, "default": {"b": "x"}}
        ),
        "spec.default",
    ),
    "null default on a non-nullable field": (
        _root(spec={"type": "string", "default": None}),
        "spec.default",
    ),
    "problem deep in the tree": (
        _root(
            spec={
                "type": "object",
                "properties": {
                    "sets": {"type": "array", "items": {"type": "object", "properties": {"n": {}}}}
                },
            }
        ),
        ".properties.spec.properties.sets.items.properties.n: must have a type",
    ),
}


@pytest.mark.parametrize(("schema", "problem"), BAD.values(), ids=BAD.keys())
def test_checker_finds(schema: dict[str, Any], problem: str) -> None:
    problems = structural.check_structural(schema)
    assert any(problem in found for found in problems), problems


GOOD: dict[str, dict[str, Any]] = {
    "int-or-string with anyOf": _root(spec={**INT_OR_STRING, "pattern": "^[0-9]+$"}),
    "int-or-string bare": _root(spec={"x-kubernetes-int-or-string": True}),
    "int-or-string in allOf": _root(
        spec={
            "x-kubernetes-int-or-string": True,
            "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^1"}],
        }
    ),
    "preserve unknown fields without type": _root(
        spec={"x-kubernetes-preserve-unknown-fields": True}
    ),
    "value validations in junctors": _root(
        spec={
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
            "anyOf": [{"required": ["a"]}, {"required": ["b"]}],
            "not": {"properties": {"a": {"enum": ["forbidden"]}}},
        }
    ),
    "metadata name restricted": _root(
        metadata={"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}}
    ),
    "map of objects": _root(
        spec={
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"a": {"type": "string"}}},
        }
    ),
    "nullable with default": _root(spec={"type": "integer", "nullable": True, "default": 3}),
}


@pytest.mark.parametrize("schema", GOOD.values(), ids=GOOD.keys())
def test_checker_accepts(schema: dict[str, Any]) -> None:
    assert structural.check_structural(schema) == []


ACCEPTS: dict[str, tuple[dict[str, Any], Any, bool]] = {
    "int for integer": ({"type": "integer"}, 3, True),
    "bool is not an integer": ({"type": "integer"}, True, False),
    "int for number": ({"type": "number"}, 3, True),
    "exclusive minimum": ({"type": "number", "minimum": 0, "exclusiveMinimum": True}, 0, False),
    "inclusive minimum": ({"type": "number", "minimum": 0}, 0, True),
    "maximum": ({"type": "integer", "maximum": 7}, 8, False),
    "enum": ({"type": "string", "enum": ["a", "b"]}, "c", False),
    "pattern searches": ({"type": "string", "pattern": "b"}, "abc", True),
    "int-or-string int": (INT_OR_STRING, 2, True),
    "int-or-string float": (INT_OR_STRING, 0.5, False),
    "null when nullable": ({"type": "string", "nullable": True}, None, True),
    "map values": ({"type": "object", "additionalProperties": {"type": "string"}}, {"a": 1}, False),
    "required": ({"type": "object", "properties": {"a": {}}, "required": ["a"]}, {}, False),
    "items": ({"type": "array", "items": {"type": "integer"}}, [1, "2"], False),
    "minItems": ({"type": "array", "items": {"type": "integer"}, "minItems": 1}, [], False),
    "anyOf": ({"type": "string", "anyOf": [{"pattern": "^a"}, {"pattern": "^b"}]}, "c", False),
    "unknown field": ({"type": "object", "properties": {"a": {}}}, {"b": 1}, False),
    "preserved field": (
        {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        {"b": 1},
        True,
    ),
}


@pytest.mark.parametrize(("schema", "value", "expected"), ACCEPTS.values(), ids=ACCEPTS.keys())
def test_accepts(schema: dict[str, Any], value: Any, expected: bool) -> None:
    assert structural.accepts(schema, value) is expected


def test_validate_and_unknown_fields_name_the_paths() -> None:
    schema = _root(
        spec={
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 1}},
            "required": ["n"],
        }
    )
    document = {"apiVersion": "v", "kind": "K", "metadata": {"name": "x"}, "spec": {"n": 0, "m": 1}}
    assert structural.validate(schema, document) == [".spec.n: 0 is below the minimum 1"]
    assert structural.unknown_fields(schema, document, resource=True) == [".spec.m"]
    assert structural.unknown_fields(schema, document) == [".kind", ".metadata.name", ".spec.m"]
