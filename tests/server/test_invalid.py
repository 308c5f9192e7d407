"""Bodies that cannot be objects: 422 Invalid with one cause per bad field, or 400 when the
body is not JSON at all."""

from __future__ import annotations

import httpx
import pytest

from . import manifests

pytestmark = pytest.mark.integration


def test_invalid_fields_are_422_with_causes(api: httpx.Client) -> None:
    body = manifests.queue("Bad_Name", weight=-1)
    body["spec"]["surprise"] = True
    response = api.post(manifests.path("queues"), json=body)
    assert response.status_code == 422
    status = response.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == "Queue"
    assert status["details"]["name"] == "Bad_Name"
    found = {c["field"]: c["reason"] for c in status["details"]["causes"]}
    assert found == {
        "metadata.name": "FieldValueInvalid",
        "spec.weight": "FieldValueInvalid",
        "spec.surprise": "FieldValueNotSupported",
    }
    assert api.get(manifests.path("queues")).json()["items"] == []


def test_missing_required_field(api: httpx.Client) -> None:
    body = manifests.policy("p")
    del body["spec"]["storage"]
    response = api.post(manifests.path("checkpointpolicies", namespace="default"), json=body)
    assert response.status_code == 422
    causes = response.json()["details"]["causes"]
    assert causes == [
        {
            "field": "spec.storage",
            "message": "required field is missing",
            "reason": "FieldValueRequired",
        }
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(b"{not json", "not valid JSON", id="malformed"),
        pytest.param(b"[1, 2]", "must be a JSON object", id="array"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"\xff\xfe", "not valid JSON", id="not-utf8"),
    ],
)
def test_unreadable_body_is_bad_request(api: httpx.Client, content: bytes, words: str) -> None:
    response = api.post(
        manifests.path("queues"), content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"
    assert words in response.json()["message"]
