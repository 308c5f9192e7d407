"""What a URL must agree with: the kind's scope, and the namespace, name and kind in the
body. Mistakes are Status errors that say what to do instead."""

from __future__ import annotations

import httpx
import pytest

from . import manifests

pytestmark = pytest.mark.integration


def test_unknown_plural_lists_the_valid_ones(api: httpx.Client) -> None:
    response = api.get(manifests.path("gpus"))
    assert response.status_code == 404
    assert response.json()["reason"] == "NotFound"
    assert "queues" in response.json()["message"]
    assert "gangschedulinggroups" in response.json()["message"]


def test_unknown_path_is_a_not_found_status(api: httpx.Client) -> None:
    response = api.get("/nothing/here")
    assert response.status_code == 404
    assert response.json()["kind"] == "Status"


def test_wrong_method_is_method_not_allowed(api: httpx.Client) -> None:
    response = api.put(manifests.path("queues"), json={})
    assert response.status_code == 405
    assert response.json()["reason"] == "MethodNotAllowed"


def test_cluster_scoped_kind_under_a_namespace_is_not_found(api: httpx.Client) -> None:
    response = api.get(manifests.path("queues", "a", namespace="default"))
    assert response.status_code == 404
    assert "cluster-scoped" in response.json()["message"]


def test_namespaced_object_without_namespace_is_not_found(api: httpx.Client) -> None:
    response = api.get(manifests.path("checkpointpolicies", "p"))
    assert response.status_code == 404
    assert "namespaced" in response.json()["message"]


def test_create_of_namespaced_kind_needs_a_namespace(api: httpx.Client) -> None:
    response = api.post(manifests.path("checkpointpolicies"), json=manifests.policy("p"))
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("url", "body", "words"),
    [
        pytest.param(
            manifests.path("checkpointpolicies", namespace="a"),
            manifests.policy("p", "b"),
            "namespace of the object (b) does not match",
            id="namespace-mismatch",
        ),
        pytest.param(
            manifests.path("queues"),
            {**manifests.queue("q"), "kind": "Budget"},
            "kind in the body (Budget) does not match",
            id="kind-mismatch",
        ),
        pytest.param(
            manifests.path("queues"),
            {**manifests.queue("q"), "apiVersion": "v1"},
            "apiVersion in the body (v1)",
            id="apiversion-mismatch",
        ),
    ],
)
def test_body_must_match_the_path(
    api: httpx.Client, url: str, body: dict[str, object], words: str
) -> None:
    response = api.post(url, json=body)
    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"
    assert words in response.json()["message"]


def test_put_name_must_match_the_url(api: httpx.Client) -> None:
    assert api.post(manifests.path("queues"), json=manifests.queue("a")).status_code == 201
    response = api.put(manifests.path("queues", "a"), json=manifests.queue("b"))
    assert response.status_code == 400
    assert "name of the object (b) does not match" in response.json()["message"]


def test_namespace_on_cluster_scoped_kind_is_invalid(api: httpx.Client) -> None:
    response = api.post(manifests.path("queues"), json=manifests.queue("a", namespace="x"))
    assert response.status_code == 422
    assert "metadata.namespace" in manifests.causes(response)
