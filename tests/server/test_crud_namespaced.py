"""The same verbs on a namespaced kind (CheckpointPolicy), including the namespace rules."""

from __future__ import annotations

import httpx
import pytest

from . import manifests

pytestmark = pytest.mark.integration


def test_policy_round_trip(api: httpx.Client) -> None:
    url = manifests.path("checkpointpolicies", namespace="ml")
    created = api.post(url, json=manifests.policy("hourly", namespace=None))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["metadata"]["namespace"] == "ml", "the path's namespace fills the body's"

    item = manifests.path("checkpointpolicies", "hourly", namespace="ml")
    assert api.get(item).json() == body
    assert api.get(manifests.path("checkpointpolicies", "hourly", "other")).status_code == 404

    body["spec"]["retention"] = 7
    replaced = api.put(item, json=body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["spec"]["retention"] == 7

    deleted = api.delete(item)
    assert deleted.status_code == 200
    assert api.get(item).status_code == 404


def test_list_in_one_namespace_and_across_all(api: httpx.Client) -> None:
    for namespace in ("a", "b"):
        url = manifests.path("checkpointpolicies", namespace=namespace)
        assert api.post(url, json=manifests.policy("p", namespace)).status_code == 201

    in_a = api.get(manifests.path("checkpointpolicies", namespace="a")).json()["items"]
    assert [item["metadata"]["namespace"] for item in in_a] == ["a"]
    everywhere = api.get(manifests.path("checkpointpolicies")).json()["items"]
    assert sorted(item["metadata"]["namespace"] for item in everywhere) == ["a", "b"]
