"""Optimistic concurrency: a write naming a stale resourceVersion is a 409 Conflict."""

from __future__ import annotations

import httpx
import pytest

from . import manifests

pytestmark = pytest.mark.integration


def test_stale_put_is_conflict(api: httpx.Client) -> None:
    first = api.post(manifests.path("queues"), json=manifests.queue("a")).json()
    stale = {**first, "spec": {**first["spec"], "weight": 2}}
    assert api.put(manifests.path("queues", "a"), json=stale).status_code == 200

    stale["spec"]["weight"] = 5
    response = api.put(manifests.path("queues", "a"), json=stale)
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"
    assert api.get(manifests.path("queues", "a")).json()["spec"]["weight"] == 2


def test_put_without_resource_version_is_unconditional(api: httpx.Client) -> None:
    api.post(manifests.path("queues"), json=manifests.queue("a"))
    response = api.put(manifests.path("queues", "a"), json=manifests.queue("a", weight=4))
    assert response.status_code == 200
    assert response.json()["spec"]["weight"] == 4


def test_delete_precondition_in_query(api: httpx.Client) -> None:
    created = api.post(manifests.path("queues"), json=manifests.queue("a")).json()
    url = manifests.path("queues", "a")
    stale = api.delete(url, params={"resourceVersion": str(manifests.rv(created) - 1)})
    assert stale.status_code == 409
    fresh = api.delete(url, params={"resourceVersion": str(manifests.rv(created))})
    assert fresh.status_code == 200


def test_delete_precondition_in_delete_options(api: httpx.Client) -> None:
    created = api.post(manifests.path("queues"), json=manifests.queue("a")).json()
    url = manifests.path("queues", "a")
    options = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {}}
    options["preconditions"] = {"resourceVersion": "999"}
    assert api.request("DELETE", url, json=options).status_code == 409
    options["preconditions"] = {"resourceVersion": str(manifests.rv(created))}
    assert api.request("DELETE", url, json=options).status_code == 200
