"""`/openapi/v3`: an OpenAPI 3.0 document with a path per kind and verb and a schema per
model, readable by 3.0 tools (no 2020-12-only constructs)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest

from k8s4ai.api import registry

from . import manifests

pytestmark = pytest.mark.integration


@pytest.fixture
def document(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/openapi/v3")
    assert response.status_code == 200
    assert api.get("/openapi.json").json() == response.json()
    data: dict[str, Any] = response.json()
    return data


def test_every_kind_has_its_paths_and_verbs(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.0")
    paths = document["paths"]
    for kind in registry.KINDS:
        scope = "{namespace}" if kind.namespaced else None
        base = manifests.path(kind.plural, namespace=scope)
        assert set(paths[base]) >= {"get", "post"}
        assert set(paths[f"{base}/{{name}}"]) >= {"get", "put", "patch", "delete"}
        assert set(paths[f"{base}/{{name}}/status"]) >= {"get", "put", "patch"}
        if kind.namespaced:
            assert "get" in paths[manifests.path(kind.plural)]


def test_schemas_come_from_the_models(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for kind in registry.KINDS:
        schema = schemas[kind.kind_name]
        assert {"apiVersion", "kind", "metadata", "spec"} <= set(schema["properties"])
        assert schema["x-kubernetes-group-version-kind"][0]["kind"] == kind.kind_name
    assert "podSets" in schemas["GangSchedulingGroupSpec"]["properties"]


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = Counter(
        op["operationId"]
        for item in document["paths"].values()
        for verb, op in item.items()
        if verb != "parameters"
    )
    assert [name for name, count in ids.items() if count > 1] == []


def test_no_json_schema_2020_constructs(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert '"const"' not in text
    assert '{"type": "null"}' not in text
    assert "(?P<" not in text
    assert '"$defs"' not in text


def test_refs_resolve(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    text = json.dumps(document)
    for ref in set(part.split('"')[0] for part in text.split('"$ref": "')[1:]):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
