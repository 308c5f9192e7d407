"""Watch without a resourceVersion: the current objects as ADDED, then live changes; label
selectors and namespaces filter the stream; timeoutSeconds ends it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest

from k8s4ai.server import run

from . import manifests

pytestmark = pytest.mark.integration


def later(seconds: float, action: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


def test_watch_starts_with_current_objects_then_streams_changes(
    server: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    api, writer = client(server), client(server)
    api.post(manifests.path("queues"), json=manifests.queue("old"))
    thread = later(0.3, lambda: writer.post(manifests.path("queues"), json=manifests.queue("new")))
    events = manifests.watch_lines(api, manifests.path("queues"), 2)
    thread.join()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "old"),
        ("ADDED", "new"),
    ]


def test_watch_filters_by_label_selector(
    server: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    api, writer = client(server), client(server)
    start = api.get(manifests.path("queues")).json()["metadata"]["resourceVersion"]

    def writes() -> None:
        writer.post(manifests.path("queues"), json=manifests.queue("x", labels={"team": "b"}))
        writer.post(manifests.path("queues"), json=manifests.queue("y", labels={"team": "a"}))

    thread = later(0.2, writes)
    events = manifests.watch_lines(
        api, manifests.path("queues"), 1, resourceVersion=start, labelSelector="team=a"
    )
    thread.join()
    assert manifests.summary(events)[0][:2] == ("ADDED", "y")


def test_watch_in_one_namespace(api: httpx.Client) -> None:
    for namespace in ("a", "b"):
        url = manifests.path("checkpointpolicies", namespace=namespace)
        api.post(url, json=manifests.policy(f"in-{namespace}", namespace))
    events = manifests.watch_lines(
        api, manifests.path("checkpointpolicies", namespace="b"), timeoutSeconds=1
    )
    assert [e["object"]["metadata"]["name"] for e in events] == ["in-b"]


def test_timeout_ends_an_idle_watch(api: httpx.Client) -> None:
    started = time.monotonic()
    assert manifests.watch_lines(api, manifests.path("queues"), timeoutSeconds=1) == []
    assert time.monotonic() - started < 5


def test_bad_watch_parameters_are_bad_request(api: httpx.Client) -> None:
    response = api.get(manifests.path("queues"), params={"watch": "1", "resourceVersion": "x"})
    assert response.status_code == 400


def test_watch_from_a_future_version_is_an_error(api: httpx.Client) -> None:
    events = manifests.watch_lines(api, manifests.path("queues"), resourceVersion=1000)
    assert [(e["type"], e["object"]["code"]) for e in events] == [("ERROR", 504)]
