"""Each CRD names, scopes, versions and prints its kind as the model declares."""

from __future__ import annotations

import re
from typing import Any

import pytest

from k8s4ai.api import crd, gang, meta, node, registry, resource, topology

KINDS = pytest.mark.parametrize("kind", registry.KINDS, ids=lambda kind: kind.kind_name)


@KINDS
def test_names_and_scope(kind: type[resource.Resource]) -> None:
    definition = crd.crd_for(kind)
    assert definition["apiVersion"] == "apiextensions.k8s.io/v1"
    assert definition["kind"] == "CustomResourceDefinition"
    assert definition["metadata"] == {"name": f"{kind.plural}.k8s4ai.io"}
    spec = definition["spec"]
    assert spec["group"] == meta.API_GROUP == "k8s4ai.io"
    assert spec["scope"] == ("Namespaced" if kind.namespaced else "Cluster")
    names = spec["names"]
    assert names == {
        "kind": kind.kind_name,
        "listKind": f"{kind.kind_name}List",
        "plural": kind.plural,
        "singular": kind.kind_name.lower(),
        **({"shortNames": names["shortNames"]} if "shortNames" in names else {}),
        "categories": ["k8s4ai"],
    }
    expected_short = [n for n in kind.short_names if n not in crd.KUBERNETES_NAMES]
    assert names.get("shortNames", []) == expected_short


def test_short_names_that_shadow_kubernetes_are_left_out() -> None:
    short_names = {
        kind.kind_name: crd.crd_for(kind)["spec"]["names"].get("shortNames", [])
        for kind in (gang.GangSchedulingGroup, node.Node)
    }
    assert short_names == {"GangSchedulingGroup": ["gang", "gangs", "gsg"], "Node": []}


@KINDS
def test_one_served_storage_version_with_status(kind: type[resource.Resource]) -> None:
    (version,) = crd.crd_for(kind)["spec"]["versions"]
    assert version["name"] == meta.API_VERSION
    assert version["served"] is True
    assert version["storage"] is True
    assert version["subresources"] == {"status": {}}


def _expected_columns(kind: type[resource.Resource]) -> list[dict[str, Any]]:
    columns = [
        {
            "name": c.name,
            "type": c.type,
            "jsonPath": c.json_path,
            **({"priority": 1} if c.wide_only else {}),
        }
        for c in kind.printer_columns
        if "[*]" not in c.json_path
    ]
    return [*columns, {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]


@KINDS
def test_printer_columns(kind: type[resource.Resource]) -> None:
    columns = crd.crd_for(kind)["spec"]["versions"][0]["additionalPrinterColumns"]
    assert columns == _expected_columns(kind)


def _resolves(schema: dict[str, Any], json_path: str) -> bool:
    node = schema
    for part in json_path.strip(".").split("."):
        properties = node.get("properties", {})
        if part not in properties:
            return False
        node = properties[part]
    return True


@KINDS
def test_printer_columns_are_simple_paths_into_the_schema(kind: type[resource.Resource]) -> None:
    definition = crd.crd_for(kind)
    version = definition["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    unresolved = [
        column["jsonPath"]
        for column in version["additionalPrinterColumns"]
        if not column["jsonPath"].startswith(".metadata.")
        and not _resolves(schema, column["jsonPath"])
    ]
    assert unresolved == []
    assert all(
        re.fullmatch(r"(\.[A-Za-z0-9_]+)+", c["jsonPath"])
        for c in version["additionalPrinterColumns"]
    )


def test_list_columns_are_dropped() -> None:
    """Kubernetes prints only the first match of a column's JSONPath, so `[*]` columns would
    show one pod set's count as if it were the gang's."""
    dropped = {
        kind.kind_name: sorted(
            {c.name for c in kind.printer_columns} - {c["name"] for c in crd.printer_columns(kind)}
        )
        for kind in (gang.GangSchedulingGroup, node.Node, topology.TopologyDomain)
    }
    assert dropped == {
        "GangSchedulingGroup": ["GPUs/pod", "Pods"],
        "Node": ["Class", "GPUs"],
        "TopologyDomain": ["Levels"],
    }
