"""`POST .../apply`: a batch written all-or-nothing, each item reported created, configured
or unchanged; any invalid item rejects the whole batch with causes under `items[i]`."""

from __future__ import annotations

import httpx
import pytest

from k8s4ai.testing import builders

from . import manifests

pytestmark = pytest.mark.integration

APPLY = f"{manifests.PREFIX}/apply"


def batch(*items: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "List", "items": list(items)}


def outcomes(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return [(i["outcome"], i["object"]["metadata"]["name"]) for i in response.json()["items"]]


def test_apply_creates_configures_and_leaves_unchanged(api: httpx.Client) -> None:
    first = api.post(APPLY, json=batch(manifests.queue("a"), manifests.policy("p")))
    assert outcomes(first) == [("created", "a"), ("created", "p")]

    second = api.post(APPLY, json=batch(manifests.queue("a", weight=2), manifests.policy("p")))
    assert outcomes(second) == [("configured", "a"), ("unchanged", "p")]
    assert second.json()["items"][1]["object"] == first.json()["items"][1]["object"]


def test_one_invalid_item_rejects_the_batch(api: httpx.Client) -> None:
    bad = manifests.policy("p")
    bad["spec"]["retention"] = 0
    response = api.post(APPLY, json=batch(manifests.queue("a"), bad, {"kind": "Gpu"}))
    assert response.status_code == 422
    found = manifests.causes(response)
    assert set(found) == {"items[1].spec.retention", "items[2].kind"}
    assert "unknown kind 'Gpu'" in found["items[2].kind"]
    assert api.get(manifests.path("queues")).json()["items"] == [], "nothing was written"


def test_references_are_checked_across_the_batch(api: httpx.Client) -> None:
    job = builders.gang("train", "ml").queue("team-a").gpus(1).build()
    missing = api.post(APPLY, json=batch(job))
    assert missing.status_code == 422
    assert "items[0].spec.queue" in manifests.causes(missing)

    together = api.post(
        APPLY, json=batch(job, builders.accelerator_class("h100"), builders.queue("team-a", 8))
    )
    assert outcomes(together) == [("created", "train"), ("created", "h100"), ("created", "team-a")]


def test_the_same_object_twice_is_invalid(api: httpx.Client) -> None:
    response = api.post(APPLY, json=batch(manifests.queue("a"), manifests.queue("a", weight=3)))
    assert response.status_code == 422
    assert "items[1].metadata.name" in manifests.causes(response)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"kind": "Queue", "items": []}, id="not-a-list"),
        pytest.param({"kind": "List"}, id="no-items"),
    ],
)
def test_a_batch_must_be_a_list(api: httpx.Client, body: dict[str, object]) -> None:
    assert api.post(APPLY, json=body).status_code == 400


def test_an_empty_batch_is_fine(api: httpx.Client) -> None:
    assert outcomes(api.post(APPLY, json=batch())) == []
