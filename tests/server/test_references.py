"""Single-object writes are checked for broken references too, so a client that skips the
CLI's checks cannot store a job pointing at a queue that does not exist."""

from __future__ import annotations

import json

import httpx
import pytest

from k8s4ai.testing import builders

from . import manifests

pytestmark = pytest.mark.integration

GANGS = manifests.path("gangschedulinggroups", namespace="ml")


def test_create_with_missing_reference_is_invalid(api: httpx.Client) -> None:
    response = api.post(GANGS, json=builders.gang("train", "ml").queue("ghost").build())
    assert response.status_code == 422
    assert manifests.causes(response) == {"spec.queue": "Queue 'ghost' not found"}


def test_create_after_the_referenced_object_exists(api: httpx.Client) -> None:
    api.post(manifests.path("queues"), json=manifests.queue("team-a"))
    response = api.post(GANGS, json=builders.gang("train", "ml").queue("team-a").build())
    assert response.status_code == 201, response.text


def test_replace_and_patch_are_checked(api: httpx.Client) -> None:
    api.post(manifests.path("queues"), json=manifests.queue("team-a"))
    created = api.post(GANGS, json=builders.gang("train", "ml").queue("team-a").build()).json()
    item = manifests.path("gangschedulinggroups", "train", namespace="ml")

    created["spec"]["queue"] = "ghost"
    assert api.put(item, json=created).status_code == 422

    patched = api.patch(
        item,
        content=json.dumps({"spec": {"queue": "ghost"}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 422
    assert "spec.queue" in manifests.causes(patched)
