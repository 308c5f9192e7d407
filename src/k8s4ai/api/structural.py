"""Kubernetes' rules for CRD schemas, checked before a cluster sees them.

An apiextensions.k8s.io/v1 CustomResourceDefinition is refused unless its schema is
*structural*: the server prunes unknown fields and applies defaults by walking the schema, so
every field must say what it is outside of any `anyOf`/`allOf`/`oneOf`/`not`. Finding a
violation here, with a path, beats reading a rejected `kubectl apply` on a live cluster; the
Kubernetes operator runs the same check on the CRDs it installs.

`check_structural(schema)` lists the problems. `validate(schema, value)` and
`unknown_fields(schema, value)` say what the apiserver would make of a value (a default, an
example manifest) under the subset of OpenAPI v3 our CRDs use: refuse it, or prune parts of it.
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

_GENERIC_IN_JUNCTOR = (
    "type",
    "description",
    "title",
    "default",
    "nullable",
    "additionalProperties",
)
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
        yield f"{path or '.'}: must be a schema object"
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
            yield f"{path or '.'}: {key} {_UNSUPPORTED[key]}"
        elif key not in KEYWORDS:
            yield f"{path or '.'}: {key!r} is not an OpenAPI v3 keyword Kubernetes knows"
    if node.get("uniqueItems") is True:
        yield f"{path or '.'}: uniqueItems cannot be true; use x-kubernetes-list-type: set"
    if node.get("additionalProperties") is False:
        yield f"{path or '.'}: additionalProperties cannot be false; pruning drops unknown fields"
    if PRESERVE_UNKNOWN in node and node[PRESERVE_UNKNOWN] is not True:
        yield f"{path or '.'}: {PRESERVE_UNKNOWN} must be true or absent"
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if key in node and not isinstance(node[key], bool):
            yield f"{path or '.'}: {key} must be a boolean in OpenAPI v3, beside minimum/maximum"


def _check_type(node: Schema, path: str) -> Iterator[str]:
    kind = node.get("type")
    if node.get(INT_OR_STRING):
        if kind is not None:
            yield f"{path or '.'}: type must be empty when {INT_OR_STRING} is true"
        yield from _check_int_or_string_junctors(node, path)
    elif kind is None:
        if not node.get(PRESERVE_UNKNOWN):
            yield f"{path or '.'}: must have a type (or {INT_OR_STRING} / {PRESERVE_UNKNOWN})"
    elif kind not in TYPES:
        yield f"{path or '.'}: type {kind!r} is not one of {', '.join(sorted(TYPES))}"
    if node.get(EMBEDDED_RESOURCE) and kind != "object":
        yield f"{path or '.'}: {EMBEDDED_RESOURCE} needs type object"


def _check_int_or_string_junctors(node: Schema, path: str) -> Iterator[str]:
    """Int-or-string nodes may spell their two types out in exactly two ways: `anyOf:
    [{type: integer}, {type: string}]`, or that anyOf as the first entry of an allOf."""
    if "anyOf" in node and node["anyOf"] != _INT_OR_STRING_ANYOF:
        yield f"{path}.anyOf: with {INT_OR_STRING} must be [{{type: integer}}, {{type: string}}]"
    all_of = node.get("allOf")
    first = all_of[0] if isinstance(all_of, list) and all_of else None
    if isinstance(first, Mapping) and "anyOf" in first and first != {"anyOf": _INT_OR_STRING_ANYOF}:
        yield f"{path}.allOf[0]: with {INT_OR_STRING} must be {{anyOf: [integer, string]}}"


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
        yield f"{path or '.'}: properties and additionalProperties are mutually exclusive"
    if (has_properties or isinstance(extra, Mapping)) and kind not in ("object", None):
        yield f"{path or '.'}: properties/additionalProperties need type object, not {kind}"
    items = node.get("items")
    if items is not None and not isinstance(items, Mapping):
        yield f"{path}.items: must be one schema, not a list"
    if kind == "array" and items is None:
        yield f"{path}.items: must be specified for type array"
    if items is not None and kind not in ("array", None):
        yield f"{path or '.'}: items needs type array, not {kind}"


def _check_default(node: Schema, path: str) -> Iterator[str]:
    if "default" not in node:
        return
    schema = {key: value for key, value in node.items() if key != "default"}
    default = node["default"]
    for problem in validate(schema, default, f"{path}.default"):
        yield f"{problem} (a default must be valid under its own schema)"
    for field in unknown_fields(schema, default, f"{path}.default"):
        yield f"{field}: a default may not hold fields its schema does not declare"


def _check_value_validation(junctor: Schema, outer: Schema, path: str) -> Iterator[str]:
    """Inside a junctor only value validations may appear, and every field or item it
    mentions must also be declared outside it, where pruning can see it."""
    if not isinstance(junctor, Mapping):
        yield f"{path or '.'}: must be a schema object"
        return
    for key in junctor:
        if key in _GENERIC_IN_JUNCTOR or key.startswith("x-kubernetes-"):
            yield f"{path or '.'}: {key} is not allowed inside allOf/anyOf/oneOf/not"
        elif key in _UNSUPPORTED:
            yield f"{path or '.'}: {key} {_UNSUPPORTED[key]}"
        elif key not in KEYWORDS:
            yield f"{path or '.'}: {key!r} is not an OpenAPI v3 keyword Kubernetes knows"
    outer_properties = _mapping(outer.get("properties"))
    outer_extra = outer.get("additionalProperties")
    for name, child in _mapping(junctor.get("properties")).items():
        if name in outer_properties:
            sub = f"{path}.properties.{name}"
            yield from _check_value_validation(child, outer_properties[name], sub)
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
    """Whether the apiserver would take `value` for a field with `schema` unchanged: valid,
    and with nothing for pruning to drop. Defaults must pass this or the CRD is refused."""
    return not validate(schema, value) and not unknown_fields(schema, value)


def validate(schema: Schema, value: Any, path: str = "") -> list[str]:
    """Why `value` fails `schema`, for the OpenAPI v3 subset Kubernetes applies to custom
    resources (formats are not checked). Like the apiserver, unknown fields are not errors
    here: pruning drops them first (see `unknown_fields`)."""
    return list(_validate(schema, value, path))


def _validate(schema: Schema, value: Any, path: str) -> Iterator[str]:
    where = path or "."
    if value is None:
        if not schema.get("nullable"):
            yield f"{where}: must not be null"
        return
    if not _has_type(schema, value):
        expected = "integer or string" if schema.get(INT_OR_STRING) else schema.get("type")
        yield f"{where}: {value!r} is not of type {expected}"
        return
    if "enum" in schema and value not in schema["enum"]:
        yield f"{where}: {value!r} is not one of {schema['enum']}"
    for check in (_validate_string, _validate_number, _validate_array, _validate_object):
        yield from check(schema, value, path)
    if not schema.get(INT_OR_STRING):
        yield from _validate_junctors(schema, value, path)


def _has_type(schema: Schema, value: Any) -> bool:
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


def _validate_string(schema: Schema, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, str):
        return
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        yield f"{path or '.'}: {value!r} does not match {schema['pattern']}"
    low: int = schema.get("minLength", 0)
    high: int = schema.get("maxLength", len(value))
    if not low <= len(value) <= high:
        yield f"{path or '.'}: length {len(value)} is outside {low}..{high}"


def _validate_number(schema: Schema, value: Any, path: str) -> Iterator[str]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    where = path or "."
    if "minimum" in schema:
        low = schema["minimum"]
        if value < low or (schema.get("exclusiveMinimum") is True and value == low):
            yield f"{where}: {value} is below the minimum {low}"
    if "maximum" in schema:
        high = schema["maximum"]
        if value > high or (schema.get("exclusiveMaximum") is True and value == high):
            yield f"{where}: {value} is above the maximum {high}"
    step = schema.get("multipleOf")
    if step and not float(value / step).is_integer():
        yield f"{where}: {value} is not a multiple of {step}"


def _validate_array(schema: Schema, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, list):
        return
    low: int = schema.get("minItems", 0)
    high: int = schema.get("maxItems", len(value))
    if not low <= len(value) <= high:
        yield f"{path or '.'}: {len(value)} items is outside {low}..{high}"
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            yield from _validate(items, item, f"{path}[{index}]")


def _validate_object(schema: Schema, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, Mapping):
        return
    for name in schema.get("required", ()):
        if name not in value:
            yield f"{path}.{name}: required field is missing"
    properties = _mapping(schema.get("properties"))
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        if name in properties:
            yield from _validate(properties[name], item, f"{path}.{name}")
        elif isinstance(extra, Mapping):
            yield from _validate(extra, item, f"{path}.{name}")


def _validate_junctors(schema: Schema, value: Any, path: str) -> Iterator[str]:
    where = path or "."
    if any(validate(branch, value) for branch in schema.get("allOf", ())):
        yield f"{where}: does not match every allOf branch"
    if "anyOf" in schema and all(validate(branch, value) for branch in schema["anyOf"]):
        yield f"{where}: matches no anyOf branch"
    if "oneOf" in schema and sum(not validate(b, value) for b in schema["oneOf"]) != 1:
        yield f"{where}: does not match exactly one oneOf branch"
    if "not" in schema and not validate(schema["not"], value):
        yield f"{where}: matches the `not` schema"


def unknown_fields(
    schema: Schema, value: Any, path: str = "", *, resource: bool = False
) -> list[str]:
    """Paths of the fields in `value` that the apiserver would prune, because `schema` does
    not declare them. With `resource`, `value` is a whole object, whose apiVersion, kind and
    metadata Kubernetes keeps whatever the schema says."""
    return list(_unknown(schema, value, path, resource_root=resource))


def _unknown(schema: Schema, value: Any, path: str, resource_root: bool) -> Iterator[str]:
    if (
        schema.get(PRESERVE_UNKNOWN)
        and "properties" not in schema
        and not isinstance(schema.get("additionalProperties"), Mapping)
    ):
        return
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            yield from _unknown(schema["items"], item, f"{path}[{index}]", False)
    if not isinstance(value, Mapping) or schema.get("type") != "object":
        return
    properties = _mapping(schema.get("properties"))
    extra = schema.get("additionalProperties")
    embedded = resource_root or bool(schema.get(EMBEDDED_RESOURCE))
    for name, item in value.items():
        if embedded and name in ("apiVersion", "kind", "metadata"):
            continue
        if name in properties:
            yield from _unknown(properties[name], item, f"{path}.{name}", False)
        elif isinstance(extra, Mapping):
            yield from _unknown(extra, item, f"{path}.{name}", False)
        elif extra is not True and not schema.get(PRESERVE_UNKNOWN):
            yield f"{path}.{name}"
