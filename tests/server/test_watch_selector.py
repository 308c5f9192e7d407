"""A watch with a labelSelector reports an object whose labels stop matching as DELETED and
one whose labels start matching as ADDED, as kube-apiserver does."""

from __future__ import annotations

import httpx
import pytest

from . import manifests

pytestmark = pytest.mark.integration


def test_label_changes_are_seen_as_leaving_and_entering(api: httpx.Client) -> None:
    queues = manifests.path("queues")
    # resourceVersion=0 means "list, then watch", so start from a real version.
    assert api.post(queues, json=manifests.queue("other")).status_code == 201
    start = manifests.rv(api.get(queues).json())
    body = manifests.queue("q")
    body["metadata"]["labels"] = {"team": "a"}
    assert api.post(queues, json=body).status_code == 201
    url = manifests.path("queues", "q")
    for team in ("b", "a"):
        patched = manifests.merge_patch(api, url, {"metadata": {"labels": {"team": team}}})
        assert patched.status_code == 200, patched.text
    events = manifests.watch_lines(
        api, queues, resourceVersion=start, labelSelector="team=a", timeoutSeconds=1
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "q"), ("DELETED", "q"), ("ADDED", "q")
    ]
