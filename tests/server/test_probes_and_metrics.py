"""`/healthz`, `/readyz` and `/metrics` (Prometheus text), without a token."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from k8s4ai.server import run
from k8s4ai.store import sqlite

from . import manifests

pytestmark = pytest.mark.integration


def samples(api: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_healthz_and_readyz(api: httpx.Client) -> None:
    assert api.get("/healthz").text == "ok"
    assert api.get("/readyz").text == "ok"


def test_readyz_fails_when_the_store_does_not_answer(
    serve: Callable[..., run.RunningServer],
    client: Callable[..., httpx.Client],
    store: sqlite.SqliteStore,
) -> None:
    api = client(serve())
    store.close()
    response = api.get("/readyz")
    assert response.status_code == 503
    assert "closed" in response.text
    assert api.get("/healthz").status_code == 200


def test_metrics_count_requests_objects_and_versions(api: httpx.Client) -> None:
    api.post(manifests.path("queues"), json=manifests.queue("a"))
    api.post(manifests.path("queues"), json=manifests.queue("b"))
    api.get(manifests.path("queues", "missing"))
    api.post(manifests.path("checkpointpolicies", namespace="x"), json=manifests.policy("p", "x"))
    first = samples(api)
    assert first[("k8s4ai_apiserver_request_total", frozenset(
        {("verb", "CREATE"), ("resource", "queues"), ("code", "201")}))] == 2
    assert first[("k8s4ai_apiserver_request_total", frozenset(
        {("verb", "GET"), ("resource", "queues"), ("code", "404")}))] == 1
    assert first[("k8s4ai_store_objects", frozenset({("kind", "Queue")}))] == 2
    assert first[("k8s4ai_store_objects", frozenset({("kind", "CheckpointPolicy")}))] == 1
    assert first[("k8s4ai_store_resource_version", frozenset())] == 3
    latency = ("k8s4ai_apiserver_request_duration_seconds_count",
               frozenset({("verb", "CREATE"), ("resource", "queues")}))
    assert first[latency] == 2

    api.delete(manifests.path("queues", "a"))
    second = samples(api)
    assert second[("k8s4ai_store_objects", frozenset({("kind", "Queue")}))] == 1
    assert second[("k8s4ai_store_resource_version", frozenset())] == 4


def test_metrics_count_open_watches(
    server: run.RunningServer, client: Callable[..., httpx.Client]
) -> None:
    watcher, scraper = client(server), client(server)
    with watcher.stream("GET", manifests.path("queues"), params={"watch": "1"}) as response:
        assert response.status_code == 200
        text = scraper.get("/metrics").text
        assert re.search(r'k8s4ai_apiserver_registered_watchers\{resource="queues"\} 1\.0', text)
