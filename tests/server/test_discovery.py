"""Discovery documents, as kubectl reads them before anything else."""

from __future__ import annotations

import httpx
import pytest

from k8s4ai.api import registry
from k8s4ai.server import app

from . import manifests

pytestmark = pytest.mark.integration


def test_api_resource_list(api: httpx.Client) -> None:
    body = api.get(manifests.PREFIX).json()
    assert body["kind"] == "APIResourceList"
    assert body["groupVersion"] == "k8s4ai.io/v1alpha1"
    by_name = {r["name"]: r for r in body["resources"]}
    queue = by_name["queues"]
    assert queue == {
        "name": "queues",
        "singularName": "queue",
        "namespaced": False,
        "kind": "Queue",
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        "shortNames": ["q"],
    }
    assert by_name["gangschedulinggroups"]["namespaced"] is True
    assert by_name["queues/status"]["verbs"] == ["get", "patch", "update"]
    assert {k.plural for k in registry.KINDS} <= set(by_name)


def test_group_documents(api: httpx.Client) -> None:
    groups = api.get("/apis").json()
    assert groups["kind"] == "APIGroupList"
    assert groups["groups"][0]["preferredVersion"]["groupVersion"] == "k8s4ai.io/v1alpha1"
    assert api.get("/apis/k8s4ai.io").json()["name"] == "k8s4ai.io"


def test_no_kind_takes_an_extension_endpoint_as_its_plural() -> None:
    assert not {kind.plural for kind in registry.KINDS} & set(app.EXTENSIONS)
