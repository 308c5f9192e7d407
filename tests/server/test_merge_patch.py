"""PATCH with `application/merge-patch+json` (RFC 7386), as `kubectl patch --type merge`."""

from __future__ import annotations

import json

import httpx
import pytest

from . import manifests

pytestmark = pytest.mark.integration

MERGE = {"Content-Type": "application/merge-patch+json"}


def patch(
    api: httpx.Client, url: str, body: object, headers: dict[str, str] = MERGE
) -> httpx.Response:
    return api.patch(url, content=json.dumps(body), headers=headers)


def test_merge_patch_changes_only_what_it_names(api: httpx.Client) -> None:
    body = manifests.queue("a", labels={"team": "nlp", "old": "x"})
    body["spec"]["cohort"] = "pool"
    api.post(manifests.path("queues"), json=body)

    response = patch(
        api,
        manifests.path("queues", "a"),
        {"metadata": {"labels": {"old": None, "new": "y"}}, "spec": {"weight": 2}},
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["metadata"]["labels"] == {"team": "nlp", "new": "y"}
    assert patched["spec"]["weight"] == 2
    assert patched["spec"]["cohort"] == "pool"
    assert patched["metadata"]["generation"] == 2


def test_patch_needs_the_merge_patch_content_type(api: httpx.Client) -> None:
    api.post(manifests.path("queues"), json=manifests.queue("a"))
    response = patch(
        api, manifests.path("queues", "a"), {"spec": {"weight": 2}},
        {"Content-Type": "application/json-patch+json"},
    )
    assert response.status_code == 415
    assert "merge-patch" in response.json()["message"]


def test_patch_with_stale_resource_version_is_conflict(api: httpx.Client) -> None:
    api.post(manifests.path("queues"), json=manifests.queue("a"))
    body = {"metadata": {"resourceVersion": "12345"}, "spec": {"weight": 2}}
    response = patch(api, manifests.path("queues", "a"), body)
    assert response.status_code == 409


def test_patch_making_the_object_invalid_is_422(api: httpx.Client) -> None:
    api.post(manifests.path("queues"), json=manifests.queue("a"))
    response = patch(api, manifests.path("queues", "a"), {"spec": {"weight": -1}})
    assert response.status_code == 422
    assert "spec.weight" in manifests.causes(response)


def test_patch_of_missing_object_is_not_found(api: httpx.Client) -> None:
    response = patch(api, manifests.path("queues", "ghost"), {"spec": {"weight": 2}})
    assert response.status_code == 404
