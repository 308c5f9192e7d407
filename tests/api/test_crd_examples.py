"""The shipped example manifests are valid custom resources: what k8s4ai accepts, a cluster
with these CRDs accepts too, both as written and as k8s4ai writes them back."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import pytest
import yaml

from k8s4ai.api import crd, registry, structural

KIND_NAMES = {kind.kind_name for kind in registry.KINDS}


def _documents() -> list[Any]:
    params = []
    examples = resources.files("k8s4ai") / "examples"
    for path in sorted(examples.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".yaml"):
            continue
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if document and document.get("kind") in KIND_NAMES:
                name = f"{path.name}#{index}-{document['kind']}-{document['metadata']['name']}"
                params.append(pytest.param(document, id=name))
    return params


DOCUMENTS = _documents()


def test_there_are_examples() -> None:
    assert DOCUMENTS, "no example manifests found in the package"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_example_is_accepted_by_its_crd(document: dict[str, Any]) -> None:
    kind = registry.by_kind(document["kind"])
    schema = crd.openapi_schema(kind)
    written_back = kind.from_wire(document).wire()
    problems = {
        "as written": structural.validate(schema, document),
        "as k8s4ai writes it": structural.validate(schema, written_back),
        "pruned as written": structural.unknown_fields(schema, document, resource=True),
        "pruned as k8s4ai writes it": structural.unknown_fields(
            schema, written_back, resource=True
        ),
    }
    assert problems == {key: [] for key in problems}


def _defaulted(schema: dict[str, Any], value: Any) -> Any:
    """`value` after the apiserver fills in the CRD's defaults."""
    if isinstance(value, list) and "items" in schema:
        return [_defaulted(schema["items"], item) for item in value]
    if not isinstance(value, dict):
        return value
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    out = {}
    for name, item in value.items():
        child = properties.get(name, extra if isinstance(extra, dict) else {})
        out[name] = _defaulted(child, item)
    for name, child in properties.items():
        if name not in out and "default" in child:
            out[name] = _defaulted(child, copy.deepcopy(child["default"]))
    return out


@pytest.mark.parametrize("document", DOCUMENTS)
def test_crd_defaults_mean_what_the_model_defaults_mean(document: dict[str, Any]) -> None:
    """An object a cluster stored (with the CRD's defaults filled in) reads back in k8s4ai as
    the object the user wrote."""
    kind = registry.by_kind(document["kind"])
    defaulted = _defaulted(crd.openapi_schema(kind), document)
    assert kind.from_wire(defaulted).wire() == kind.from_wire(document).wire()
