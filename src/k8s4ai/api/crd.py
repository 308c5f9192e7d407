"""CustomResourceDefinitions for every kind, generated from the pydantic models.

The models are the one source of truth: the embedded store validates with them, and a real
cluster validates with these CRDs, so the two must not drift. Pydantic writes JSON Schema
(draft 2020-12, with `$ref`s and `anyOf` for optionals); Kubernetes wants a *structural*
OpenAPI v3 schema (see `structural`), so the schema is rewritten here: references inlined,
optionals turned into `nullable`, unions folded into one type, bounds in OpenAPI v3 form.
A model that cannot be expressed raises `SchemaError` naming the field, rather than
producing a CRD that a cluster would refuse or that would validate less than it says.

`kubectl apply -f <(python -c 'from k8s4ai.api import crd; print(crd.crds_yaml())')`
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

import yaml

from k8s4ai.api import meta, registry, resource, structural

API_VERSION = "apiextensions.k8s.io/v1"
CATEGORIES = ("k8s4ai",)

KUBERNETES_NAMES = frozenset(
    {
        "cm", "cs", "csr", "cj", "crd", "crds", "deploy", "ds", "ep", "ev", "hpa", "ing",
        "job", "jobs", "limits", "netpol", "no", "ns", "pc", "pdb", "po", "pv", "pvc",
        "quota", "rc", "rs", "sa", "sc", "sts", "svc",
        "node", "nodes", "event", "events", "pod", "pods", "service", "services",
    }
)  # fmt: skip
"""Built-in resource names and short names. A CRD short name equal to one of these shadows
or is shadowed by the built-in in kubectl (`kubectl get jobs` must stay batch Jobs), so the
CRDs leave them out; `k8s4ai` itself still accepts them."""

_DROPPED_KEYWORDS = frozenset(
    {"title", "examples", "deprecated", "readOnly", "writeOnly", "$defs", "$schema"}
)
"""Annotations with no effect on validation, or no place in a CRD."""

_COPIED_KEYWORDS = frozenset(
    {
        "description", "format", "enum", "minimum", "maximum", "minLength", "maxLength",
        "minItems", "maxItems", "multipleOf", "minProperties", "maxProperties", "nullable",
        "required",
    }
)  # fmt: skip
_KEY_ORDER = (
    "description", "type", "format", "nullable", "enum", "pattern", "minLength", "maxLength",
    "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf", "minItems",
    "maxItems", "minProperties", "maxProperties", structural.INT_OR_STRING, "anyOf",
    structural.PRESERVE_UNKNOWN, "x-kubernetes-list-type", "items", "properties",
    "additionalProperties", "required", "default",
)  # fmt: skip
"""Key order in the generated YAML, so a reviewer reads a field's type before its details."""
_NAMED_GROUP = re.compile(r"(?<!\\)\(\?P<[A-Za-z_][A-Za-z0-9_]*>")
_INT_OR_STRING_ANYOF = [{"type": "integer"}, {"type": "string"}]


class SchemaError(ValueError):
    """A model field that a structural CRD schema cannot express."""


def all_crds() -> list[dict[str, Any]]:
    """One CRD per kind, in registry order (most referenced kinds first)."""
    return [crd_for(kind) for kind in registry.KINDS]


def crds_yaml() -> str:
    """Every CRD as one multi-document YAML stream, for `kubectl apply -f -`."""
    return yaml.safe_dump_all(
        all_crds(), explicit_start=True, sort_keys=False, allow_unicode=True, width=100
    )


def crd_for(kind: type[resource.Resource]) -> dict[str, Any]:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition serving `kind`."""
    return {
        "apiVersion": API_VERSION,
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{meta.API_GROUP}"},
        "spec": {
            "group": meta.API_GROUP,
            "names": _names(kind),
            "scope": "Namespaced" if kind.namespaced else "Cluster",
            "versions": [
                {
                    "name": meta.API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": printer_columns(kind),
                    "schema": {"openAPIV3Schema": openapi_schema(kind)},
                }
            ],
        },
    }


def _names(kind: type[resource.Resource]) -> dict[str, Any]:
    short_names = [name for name in kind.short_names if name not in KUBERNETES_NAMES]
    names: dict[str, Any] = {
        "kind": kind.kind_name,
        "listKind": f"{kind.kind_name}List",
        "plural": kind.plural,
        "singular": kind.singular(),
    }
    if short_names:
        names["shortNames"] = short_names
    names["categories"] = list(CATEGORIES)
    return names


def printer_columns(kind: type[resource.Resource]) -> list[dict[str, Any]]:
    """The kind's columns as kubectl shows them, then Age, which kubectl only adds itself when
    a CRD declares no columns.

    The apiserver renders one value per cell, the first match of the JSONPath, so a column
    over every item of a list (`.spec.podSets[*].count`) would silently show only the first
    item; such columns are left out here (`k8s4ai get` still shows them).
    """
    columns = []
    for column in kind.printer_columns:
        if "[*]" in column.json_path:
            continue
        entry: dict[str, Any] = {
            "name": column.name,
            "type": column.type,
            "jsonPath": column.json_path,
        }
        if column.wide_only:
            entry["priority"] = 1
        columns.append(entry)
    columns.append({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"})
    return columns


def openapi_schema(kind: type[resource.Resource]) -> dict[str, Any]:
    """The structural openAPIV3Schema for `kind`, from its pydantic validation schema."""
    raw = kind.model_json_schema(by_alias=True, mode="validation")
    schema = _convert(raw, raw.get("$defs", {}), (), "")
    properties = schema["properties"]
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    properties["metadata"] = {"type": "object"}
    if "description" not in schema and (summary := _summary(kind)):
        schema = {"description": summary, **schema}
    return schema


def _summary(kind: type[resource.Resource]) -> str:
    """The first paragraph of the kind's module docstring, which is written to introduce the
    kind; `kubectl explain` shows it."""
    doc = kind.__doc__ or sys.modules[kind.__module__].__doc__ or ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _convert(
    node: Mapping[str, Any], defs: Mapping[str, Any], inlining: tuple[str, ...], path: str
) -> dict[str, Any]:
    """One JSON Schema node as a structural OpenAPI v3 node. `inlining` holds the `$ref`s being
    expanded above this node, to refuse recursive models (a CRD schema cannot recurse)."""
    node, inlining = _resolve(node, defs, inlining, path)
    if "anyOf" in node and not node.get(structural.INT_OR_STRING):
        node = _collapse_union(node, defs, inlining, path)
    if "oneOf" in node or "allOf" in node or "not" in node:
        raise SchemaError(f"{path or '.'}: oneOf/allOf/not unions are not supported in a CRD")
    if node.get(structural.INT_OR_STRING):
        return _int_or_string(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYWORDS or key in ("default", "additionalProperties", "uniqueItems"):
            continue
        if key in _COPIED_KEYWORDS or key.startswith("x-kubernetes-"):
            out[key] = value
        elif key == "type":
            out[key] = _type(value, path)
        elif key == "const":
            out["enum"] = [value]
        elif key == "pattern":
            out[key] = _portable(value)
        elif key == "properties":
            out[key] = {
                name: _convert(child, defs, inlining, f"{path}.{name}")
                for name, child in value.items()
            }
        elif key == "items":
            out[key] = _items(value, defs, inlining, path)
        elif key not in ("exclusiveMinimum", "exclusiveMaximum"):
            raise SchemaError(f"{path or '.'}: JSON Schema keyword {key!r} has no CRD form")
    out.update(_additional_properties(node, defs, inlining, path))
    out.update(_bounds(node))
    _infer_type(out, path)
    if node.get("uniqueItems") and _is_scalar(out.get("items", {})):
        out["x-kubernetes-list-type"] = "set"
    return _with_default(out, node)


def _resolve(
    node: Mapping[str, Any], defs: Mapping[str, Any], inlining: tuple[str, ...], path: str
) -> tuple[Mapping[str, Any], tuple[str, ...]]:
    """Inline `$ref` (also when wrapped in a one-item allOf); keys beside the reference, such
    as a field's description, win over the referenced model's own."""
    if "allOf" in node and len(node["allOf"]) == 1 and "$ref" in node["allOf"][0]:
        node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in inlining:
            raise SchemaError(f"{path or '.'}: {name} refers to itself; a CRD cannot recurse")
        inlining = (*inlining, name)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**defs[name], **siblings}
    return node, inlining


def _collapse_union(
    node: Mapping[str, Any], defs: Mapping[str, Any], inlining: tuple[str, ...], path: str
) -> dict[str, Any]:
    """`X | None` becomes X with `nullable: true`; other unions become the one type that holds
    every member (int | str → int-or-string, str | Literal → string) or are refused."""
    outer = {key: value for key, value in node.items() if key != "anyOf"}
    members = []
    nullable = False
    for member in node["anyOf"]:
        resolved, _ = _resolve(member, defs, inlining, path)
        if resolved.get("type") == "null":
            nullable = True
        else:
            members.append(resolved)
    base = members[0] if len(members) == 1 else _fold(members, path)
    merged = {**base, **outer}
    if nullable:
        merged["nullable"] = True
    return merged


def _fold(members: list[Mapping[str, Any]], path: str) -> dict[str, Any]:
    types = {member.get("type") for member in members}
    int_or_string = any(member.get(structural.INT_OR_STRING) for member in members)
    if int_or_string or types == {"integer", "string"}:
        return {structural.INT_OR_STRING: True}
    if types == {"string"}:
        return _string_union(members)
    if types == {"integer", "number"}:
        return {"type": "number"}
    raise SchemaError(f"{path or '.'}: a union of {sorted(map(str, types))} has no CRD form")


def _string_union(members: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Strings of several shapes (a Duration, or the literal "auto") as one string whose pattern
    accepts any of them; without a pattern when some member is unconstrained."""
    alternatives = [_as_regex(member) for member in members]
    if any(regex is None for regex in alternatives):
        return {"type": "string"}
    return {"type": "string", "pattern": f"^(?:{'|'.join(map(str, alternatives))})$"}


def _as_regex(member: Mapping[str, Any]) -> str | None:
    """An unanchored regex for the strings `member` accepts, if it is a literal or a pattern
    anchored at both ends; None if it cannot be expressed that way."""
    values = [member["const"]] if "const" in member else member.get("enum")
    if values is not None:
        return "|".join(re.escape(str(value)) for value in values)
    pattern = member.get("pattern")
    if isinstance(pattern, str) and pattern.startswith("^") and pattern.endswith("$"):
        return f"(?:{_portable(pattern[1:-1])})"
    return None


def _portable(pattern: str) -> str:
    """Python spells named groups `(?P<name>...)`, which ECMA-262 validators reject and which
    mean nothing to a CRD; the names don't change what matches."""
    return _NAMED_GROUP.sub("(?:", pattern)


def _int_or_string(node: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        structural.INT_OR_STRING: True,
        "anyOf": [dict(member) for member in _INT_OR_STRING_ANYOF],
    }
    for key in ("description", "pattern", "nullable"):
        if key in node:
            out[key] = _portable(node[key]) if key == "pattern" else node[key]
    return _with_default(out, node)


def _type(value: Any, path: str) -> str:
    if value not in structural.TYPES:
        raise SchemaError(f"{path or '.'}: type {value!r} has no CRD form")
    return str(value)


def _items(
    value: Any, defs: Mapping[str, Any], inlining: tuple[str, ...], path: str
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise SchemaError(f"{path or '.'}: tuple-shaped arrays have no CRD form")
    return _convert(value, defs, inlining, f"{path}[]")


def _additional_properties(
    node: Mapping[str, Any], defs: Mapping[str, Any], inlining: tuple[str, ...], path: str
) -> dict[str, Any]:
    """`dict[str, X]` becomes additionalProperties: X. A model's `additionalProperties: false`
    is dropped: Kubernetes forbids it and prunes unknown fields instead."""
    extra = node.get("additionalProperties")
    if extra is None or extra is False:
        return {}
    if node.get("properties"):
        raise SchemaError(f"{path or '.'}: fixed fields plus extra keys have no CRD form")
    if extra is True:
        return {structural.PRESERVE_UNKNOWN: True}
    return {"additionalProperties": _convert(extra, defs, inlining, f"{path}{{}}")}


def _bounds(node: Mapping[str, Any]) -> dict[str, Any]:
    """JSON Schema 2020-12 writes `exclusiveMinimum: 0`; OpenAPI v3 (and so Kubernetes) writes
    `minimum: 0, exclusiveMinimum: true`. The stricter bound wins when both are given."""
    out: dict[str, Any] = {}
    for exclusive, inclusive, stricter in (
        ("exclusiveMinimum", "minimum", max),
        ("exclusiveMaximum", "maximum", min),
    ):
        bound = node.get(exclusive)
        if bound is None:
            continue
        if isinstance(bound, bool):  # already in OpenAPI v3 form
            out[exclusive] = bound
            continue
        if inclusive in node and stricter(node[inclusive], bound) != bound:
            continue
        out[inclusive] = bound
        out[exclusive] = True
    return out


def _infer_type(out: dict[str, Any], path: str) -> None:
    """Every field needs a type: from its enum when pydantic left it out, and free-form
    (`Any`) fields keep whatever they are given."""
    if "type" in out or out.get(structural.PRESERVE_UNKNOWN):
        return
    if "properties" in out or "additionalProperties" in out:
        out["type"] = "object"
    elif "items" in out:
        out["type"] = "array"
    elif "enum" in out:
        kinds = {_json_type(value) for value in out["enum"]}
        if len(kinds) != 1:
            raise SchemaError(f"{path or '.'}: an enum of mixed types has no CRD form")
        out["type"] = kinds.pop()
    else:
        out[structural.PRESERVE_UNKNOWN] = True


def _json_type(value: Any) -> str:
    match value:
        case bool():
            return "boolean"
        case int():
            return "integer"
        case float():
            return "number"
        case str():
            return "string"
        case _:
            return "object"


def _is_scalar(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") in ("string", "integer", "number", "boolean")


def _with_default(out: dict[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the model's default only when the apiserver would accept it: valid under the node's
    own schema (a null default never is). Also puts the keys in reading order."""
    default = node.get("default")
    if default is not None and structural.accepts(out, default):
        out["default"] = default
    rank = {key: index for index, key in enumerate(_KEY_ORDER)}
    return dict(sorted(out.items(), key=lambda item: rank.get(item[0], len(rank))))
