"""`?labelSelector=` on lists, with Kubernetes' selector syntax."""

from __future__ import annotations

import httpx
import pytest

from . import manifests

pytestmark = pytest.mark.integration


@pytest.fixture
def labelled(api: httpx.Client) -> httpx.Client:
    for name, labels in [
        ("a", {"team": "nlp", "tier": "prod"}),
        ("b", {"team": "vision", "tier": "prod"}),
        ("c", {"team": "nlp"}),
    ]:
        body = manifests.queue(name, labels=labels)
        assert api.post(manifests.path("queues"), json=body).status_code == 201
    return api


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        pytest.param("team=nlp", ["a", "c"], id="equals"),
        pytest.param("team!=nlp", ["b"], id="not-equals"),
        pytest.param("team in (nlp,vision),tier", ["a", "b"], id="set-and-exists"),
        pytest.param("!tier", ["c"], id="not-exists"),
        pytest.param("", ["a", "b", "c"], id="empty"),
    ],
)
def test_list_filters_by_labels(labelled: httpx.Client, selector: str, names: list[str]) -> None:
    response = labelled.get(manifests.path("queues"), params={"labelSelector": selector})
    assert response.status_code == 200
    assert [item["metadata"]["name"] for item in response.json()["items"]] == names


def test_unreadable_selector_is_bad_request(api: httpx.Client) -> None:
    response = api.get(manifests.path("queues"), params={"labelSelector": "team in nlp"})
    assert response.status_code == 400
    assert "labelSelector" in response.json()["message"]
