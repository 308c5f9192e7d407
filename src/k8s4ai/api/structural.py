"""Kubernetes' rules for CRD schemas, checked before a cluster sees them.

An apiextensions.k8s.io/v1 CustomResourceDefinition is refused unless its schema is
*structural*: the server prunes unknown fields and applies defaults by walking the schema, so
every field must say what it is outside of any `anyOf`/`allOf`/`oneOf`/`not`. Finding a
violation here, with a path, beats reading a rejected `kubectl apply` on a live cluster; the
Kubernetes operator runs the same check on the CRDs it installs.

`check_structural(schema)` lists the problems; `accepts(schema, value)` says whether a value
(a default, say) is valid under the subset of OpenAPI v3 our CRDs use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

Schema = Mapping[str, Any]

TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})
JUNCTORS = ("allOf", "anyOf", "oneOf", "not")
INT_OR_STRING = "x-kubernetes-int-or-string"
PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"
EMBEDDED_RESOURCE = "x-kubernetes-embedded-resource"

KEYWORDS = frozenset(
    {
        "description", "type", "format", "title", "default", "maximum", "exclusiveMaximum",
        "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems",
        "minItems", "uniqueItems", "multipleOf", "enum", "maxProperties", "minProperties",
        "required", "items", "allOf", "oneOf", "anyOf", "not", "properties",
        "additionalProperties", "externalDocs", "example", "nullable", PRESERVE_UNKNOWN,
        EMBEDDED_RESOURCE, INT_OR_STRING, "x-kubernetes-list-map-keys",
        "x-kubernetes-list-type", "x-kubernetes-map-type", "x-kubernetes-validations",
    }
)  # fmt: skip
"""The fields of apiextensions/v1 JSONSchemaProps that a v1 CRD may set."""

_UNSUPPORTED = {
    "$ref": "references are not supported; inline the schema",
    "$schema": "is not supported",
    "id": "is not supported",
    "definitions": "is not supported; inline the schema",
    "$defs": "is not supported; inline the schema",
    "patternProperties": "is not supported",
    "dependencies": "is not supported",
    "additionalItems": "is not supported",
}

_GENERIC_IN_JUNCTOR = ("type", "description", "title", "default", "nullable",
                       "additionalProperties")  # fmt: skip
"""What a logical junctor may not set: the apiserver prunes and defaults from the outer
schema alone, so these must live outside the junctor."""

_INT_OR_STRING_ANYOF = [{"type": "integer"}, {"type": "string"}]
_METADATA_FIELDS = frozenset({"name", "generateName"})


def check_structural(schema: Schema, path: str = "") -> list[str]:
    """Problems that would make Kubernetes refuse `schema` as a CRD's openAPIV3Schema.

    An empty list means structural. Each problem starts with the path of the node, e.g.
    `.properties.spec.properties.cpu: must have a type`.
    """
    problems = list(_check_node(schema, path))
    if schema.get("type") != "object":
        problems.append(f"{path or '.'}: the root must be of type object")
    problems.extend(_check_resource_root(schema, path))
    return problems


def _check_node(node: Schema, path: str) -> Iterator[str]:
    """Rules for one node that declares a field (root, property, additionalProperties, items),
    then the same for every field below it."""
    if not isinstance(node, Mapping):
        yield f"{path}: must be a schema object"
        return
    yield from _check_keywords(node, path)
    yield from _check_type(node, path)
    yield from _check_shape(node, path)
    yield from _check_default(node, path)
    for key in JUNCTORS:
        for index, junctor in _junctors(node, key):
            sub = f"{path}.{key}" if index is None else f"{path}.{key}[{index}]"
            if not _is_int_or_string_pattern(node, key, index):
                yield from _check_value_validation(junctor, node, sub)
    for name, child in _mapping(node.get("properties")).items():
        yield from _check_node(child, f"{path}.properties.{name}")
    if isinstance(node.get("additionalProperties"), Mapping):
        yield from _check_node(node["additionalProperties"], f"{path}.additionalProperties")
    if isinstance(node.get("items"), Mapping):
        yield from _check_node(node["items"], f"{path}.items")
    if node.get(EMBEDDED_RESOURCE):
        yield from _check_resource_root(node, path)


def _check_keywords(node: Schema, path: str) -> Iterator[str]:
    for key in node:
        if key in _UNSUPPORTED:
            yield f"{path}: {key} {_UNSUPPORTED[key]}"
        elif key not in KEYWORDS:
            yield f"{path}: {key!r} is not an OpenAPI v3 keyword Kubernetes knows"
    if node.get("uniqueItems") is True:
        yield f"{path}: uniqueItems cannot be true; use x-kubernetes-list-type: set"
    if node.get("additionalProperties") is False:
        yield f"{path}: additionalProperties cannot be false; unknown fields are pruned anyway"
    if PRESERVE_UNKNOWN in node and node[PRESERVE_UNKNOWN] is not True:
        yield f"{path}: {PRESERVE_UNKNOWN} must be true or absent"
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if key in node and not isinstance(node[key], bool):
            yield f"{path}: {key} must be a boolean in OpenAPI v3 (pair it with minimum/maximum)"


def _check_type(node: Schema, path: str) -> Iterator[str]:
    kind = node.get("type")
    if node.get(INT_OR_STRING):
        if kind is not None:
            yield f"{path}: type must be empty when {INT_OR_STRING} is true"
        yield from _check_int_or_string_junctors(node, path)
    elif kind is None:
        if not node.get(PRESERVE_UNKNOWN):
            yield f"{path}: must have a type (or {INT_OR_STRING} / {PRESERVE_UNKNOWN})"
    elif kind not in TYPES:
        yield f"{path}: type {kind!r} is not one of {', '.join(sorted(TYPES))}"
    if node.get(EMBEDDED_RESOURCE) and kind != "object":
        yield f"{path}: {EMBEDDED_RESOURCE} needs type object"


def _check_int_or_string_junctors(node: Schema, path: str) -> Iterator[str]:
    """Int-or-string nodes may spell their two types out in exactly two ways: `anyOf:
    [{type: integer}, {type: string}]`, or that anyOf as the first entry of an allOf."""
    if "anyOf" in node and node["anyOf"] != _INT_OR_STRING_ANYOF:
        yield f"{path}.anyOf: with {INT_OR_STRING} must be [{{type: integer}}, {{type: string}}]"
    all_of = node.get("allOf")
    if isinstance(all_of, list) and all_of and "anyOf" in all_of[0] and "anyOf" not in node:
        if all_of[0] != {"anyOf": _INT_OR_STRING_ANYOF}:
            yield (f"{path}.allOf[0]: with {INT_OR_STRING} must be "
                   "{anyOf: [{type: integer}, {type: string}]}")  # fmt: skip


def _is_int_or_string_pattern(node: Schema, key: str, index: int | None) -> bool:
    if not node.get(INT_OR_STRING):
        return False
    if key == "anyOf":
        return node.get("anyOf") == _INT_OR_STRING_ANYOF
    return key == "allOf" and index == 0 and node["allOf"][0] == {"anyOf": _INT_OR_STRING_ANYOF}


def _check_shape(node: Schema, path: str) -> Iterator[str]:
    kind = node.get("type")
    has_properties = bool(node.get("properties"))
    extra = node.get("additionalProperties")
    if has_properties and (isinstance(extra, Mapping) or extra is True):
        yield f"{path}: properties and additionalProperties are mutually exclusive"
    if (has_properties or isinstance(extra, Mapping)) and kind not in ("object", None):
        yield f"{path}: properties/additionalProperties need type object, not {kind}"
    items = node.get("items")
    if items is not None and not isinstance(items, Mapping):
        yield f"{path}.items: must be one schema, not a list"
    if kind == "array" and items is None:
        yield f"{path}.items: must be specified for type array"
    if items is not None and kind not in ("array", None):
        yield f"{path}: items needs type array, not {kind}"


def _check_default(node: Schema, path: str) -> Iterator[str]:
    if "default" not in node:
        return
    schema = {key: value for key, value in node.items() if key != "default"}
    if not accepts(schema, node["default"]):
        yield f"{path}.default: {node['default']!r} is not valid under its own schema"


def _check_value_validation(junctor: Schema, outer: Schema, path: str) -> Iterator[str]:
    """Inside a junctor only value validations may appear, and every field or item it
    mentions must also be declared outside it, where pruning can see it."""
    if not isinstance(junctor, Mapping):
        yield f"{path}: must be a schema object"
        return
    for key in junctor:
        if key in _GENERIC_IN_JUNCTOR or key.startswith("x-kubernetes-"):
            yield f"{path}: {key} is not allowed inside allOf/anyOf/oneOf/not"
        elif key in _UNSUPPORTED:
            yield f"{path}: {key} {_UNSUPPORTED[key]}"
        elif key not in KEYWORDS:
            yield f"{path}: {key!r} is not an OpenAPI v3 keyword Kubernetes knows"
    outer_properties = _mapping(outer.get("properties"))
    outer_extra = outer.get("additionalProperties")
    for name, child in _mapping(junctor.get("properties")).items():
        if name in outer_properties:
            yield from _check_value_validation(child, outer_properties[name],
                                               f"{path}.properties.{name}")  # fmt: skip
        elif isinstance(outer_extra, Mapping):
            yield from _check_value_validation(child, outer_extra, f"{path}.properties.{name}")
        else:
            yield f"{path}.properties.{name}: must also be declared outside the junctor"
    if "items" in junctor:
        if isinstance(outer.get("items"), Mapping):
            yield from _check_value_validation(junctor["items"], outer["items"], f"{path}.items")
        else:
            yield f"{path}.items: must also be declared outside the junctor"
    if isinstance(junctor.get("additionalProperties"), Mapping) and not isinstance(
        outer_extra, Mapping
    ):
        yield f"{path}.additionalProperties: must also be declared outside the junctor"
    for key in JUNCTORS:
        for index, nested in _junctors(junctor, key):
            sub = f"{path}.{key}" if index is None else f"{path}.{key}[{index}]"
            yield from _check_value_validation(nested, outer, sub)


def _check_resource_root(node: Schema, path: str) -> Iterator[str]:
    """Kubernetes owns ObjectMeta: a CRD may only narrow metadata.name and generateName, and
    apiVersion and kind must stay strings."""
    properties = _mapping(node.get("properties"))
    for name in ("apiVersion", "kind"):
        if name in properties and _mapping(properties[name]).get("type") != "string":
            yield f"{path}.properties.{name}: must be of type string"
    if "metadata" not in properties:
        return
    metadata = _mapping(properties["metadata"])
    where = f"{path}.properties.metadata"
    if metadata.get("type") != "object":
        yield f"{where}: must be of type object"
    for key in metadata:
        if key not in ("type", "properties"):
            yield f"{where}: {key} is not allowed; only name and generateName may be restricted"
    for name, field in _mapping(metadata.get("properties")).items():
        if name not in _METADATA_FIELDS:
            yield f"{where}.properties.{name}: only name and generateName may be restricted"
        elif _mapping(field).get("type", "string") != "string" or "default" in field:
            yield f"{where}.properties.{name}: may only add string validations"


def _junctors(node: Schema, key: str) -> Iterator[tuple[int | None, Any]]:
    value = node.get(key)
    if key == "not":
        if value is not None:
            yield None, value
    elif isinstance(value, list):
        yield from enumerate(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def accepts(schema: Schema, value: Any) -> bool:
    """Whether `value` validates against `schema`, for the OpenAPI v3 subset Kubernetes
    applies to custom resources (formats are not checked). Used to keep only defaults the
    apiserver would accept: it refuses a CRD whose defaults do not validate."""
    if value is None:
        return bool(schema.get("nullable"))
    if not _accepts_type(schema, value):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    checks = (_accepts_string, _accepts_number, _accepts_array, _accepts_object,
              _accepts_junctors)  # fmt: skip
    return all(check(schema, value) for check in checks)


def _accepts_type(schema: Schema, value: Any) -> bool:
    if schema.get(INT_OR_STRING):
        return isinstance(value, int | str) and not isinstance(value, bool)
    match schema.get("type"):
        case None:
            return True
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "string":
            return isinstance(value, str)
        case "boolean":
            return isinstance(value, bool)
        case "array":
            return isinstance(value, list)
        case "object":
            return isinstance(value, Mapping)
        case _:
            return False


def _accepts_string(schema: Schema, value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        return False
    return schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value))


def _accepts_number(schema: Schema, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    if "minimum" in schema:
        low = schema["minimum"]
        if value < low or (schema.get("exclusiveMinimum") is True and value == low):
            return False
    if "maximum" in schema:
        high = schema["maximum"]
        if value > high or (schema.get("exclusiveMaximum") is True and value == high):
            return False
    step = schema.get("multipleOf")
    return not step or (value / step) == int(value / step)


def _accepts_array(schema: Schema, value: Any) -> bool:
    if not isinstance(value, list):
        return True
    if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
        return False
    items = schema.get("items")
    return not isinstance(items, Mapping) or all(accepts(items, item) for item in value)


def _accepts_object(schema: Schema, value: Any) -> bool:
    """Unknown fields count as invalid: the apiserver requires defaults to survive pruning."""
    if not isinstance(value, Mapping):
        return True
    if any(name not in value for name in schema.get("required", ())):
        return False
    properties = _mapping(schema.get("properties"))
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        if name in properties:
            if not accepts(properties[name], item):
                return False
        elif isinstance(extra, Mapping):
            if not accepts(extra, item):
                return False
        elif not (extra is True or schema.get(PRESERVE_UNKNOWN)):
            return False
    return True


def _accepts_junctors(schema: Schema, value: Any) -> bool:
    if schema.get(INT_OR_STRING):
        return True
    if "allOf" in schema and not all(_accepts_validation(s, value) for s in schema["allOf"]):
        return False
    if "anyOf" in schema and not any(_accepts_validation(s, value) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(_accepts_validation(s, value) for s in schema["oneOf"]) != 1:
        return False
    return "not" not in schema or not _accepts_validation(schema["not"], value)


def _accepts_validation(schema: Schema, value: Any) -> bool:
    """A junctor branch only validates; it cannot prune, so unknown fields don't fail it."""
    return accepts({PRESERVE_UNKNOWN: True, **schema}, value)
