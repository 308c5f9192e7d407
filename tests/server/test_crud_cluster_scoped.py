"""Create, read, list, replace and delete a cluster-scoped kind (Queue) over HTTP."""

from __future__ import annotations

import httpx
import pytest

from . import manifests

pytestmark = pytest.mark.integration


def test_queue_round_trip(api: httpx.Client) -> None:
    created = api.post(manifests.path("queues"), json=manifests.queue("team-a"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "Queue"
    assert "namespace" not in body["metadata"]
    assert body["metadata"]["generation"] == 1

    got = api.get(manifests.path("queues", "team-a"))
    assert got.status_code == 200
    assert got.json() == body

    body["spec"]["weight"] = 3
    replaced = api.put(manifests.path("queues", "team-a"), json=body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["spec"]["weight"] == 3
    assert replaced.json()["metadata"]["generation"] == 2
    assert manifests.rv(replaced.json()) > manifests.rv(body)

    listed = api.get(manifests.path("queues")).json()
    assert listed["kind"] == "QueueList"
    assert listed["apiVersion"] == "k8s4ai.io/v1alpha1"
    assert [item["metadata"]["name"] for item in listed["items"]] == ["team-a"]
    assert int(listed["metadata"]["resourceVersion"]) == manifests.rv(replaced.json())

    deleted = api.delete(manifests.path("queues", "team-a"))
    assert deleted.status_code == 200
    assert deleted.json()["metadata"]["name"] == "team-a"
    assert api.get(manifests.path("queues", "team-a")).status_code == 404
    assert api.get(manifests.path("queues")).json()["items"] == []


def test_create_twice_is_already_exists(api: httpx.Client) -> None:
    assert api.post(manifests.path("queues"), json=manifests.queue("a")).status_code == 201
    again = api.post(manifests.path("queues"), json=manifests.queue("a"))
    assert again.status_code == 409
    assert again.json()["reason"] == "AlreadyExists"
    assert again.json()["details"] == {"name": "a", "kind": "Queue"}


def test_missing_object_is_a_not_found_status(api: httpx.Client) -> None:
    response = api.get(manifests.path("queues", "nope"))
    assert response.status_code == 404
    body = response.json()
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert body["reason"] == "NotFound"
    assert body["code"] == 404
    assert "nope" in body["message"]
