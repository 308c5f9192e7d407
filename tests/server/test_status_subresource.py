"""`/status`: status writes keep the spec, spec writes keep the status."""

from __future__ import annotations

import json

import httpx
import pytest

from . import manifests

pytestmark = pytest.mark.integration


def test_status_put_keeps_spec_and_spec_put_keeps_status(api: httpx.Client) -> None:
    created = api.post(manifests.path("queues"), json=manifests.queue("a")).json()
    status_url = manifests.path("queues", "a", sub="status")

    body = {**created, "spec": {"weight": 9}, "status": {"pending": 4, "admitted": 2}}
    written = api.put(status_url, json=body)
    assert written.status_code == 200, written.text
    assert written.json()["status"]["pending"] == 4
    assert written.json()["spec"]["weight"] == 1, "a status write does not touch the spec"
    assert written.json()["metadata"]["generation"] == 1

    assert api.get(status_url).json()["status"]["admitted"] == 2

    spec_write = {**written.json(), "spec": {"weight": 3}, "status": {"pending": 0}}
    replaced = api.put(manifests.path("queues", "a"), json=spec_write).json()
    assert replaced["spec"]["weight"] == 3
    assert replaced["status"]["pending"] == 4, "a spec write does not touch the status"


def test_status_merge_patch(api: httpx.Client) -> None:
    api.post(manifests.path("queues"), json=manifests.queue("a"))
    response = api.patch(
        manifests.path("queues", "a", sub="status"),
        content=json.dumps({"status": {"admitted": 7}, "spec": {"weight": 5}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"]["admitted"] == 7
    assert response.json()["spec"]["weight"] == 1
