"""Cost metrics on `/metrics`, from the same hand-made ledger as the allocation API's tests:
prices and amounts held at the view's `now`, and a scrape that survives a failing source."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from k8s4ai.finops import pricing, view
from k8s4ai.server import cost_metrics, run
from k8s4ai.store import sqlite

from .test_allocation_api import CPU, H100, HOUR, MEMORY, SSD, T0, Start, costs, start_with_costs

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
GIB = 1 << 30


@pytest.fixture
def serve_costs(store: sqlite.SqliteStore) -> Iterator[Start]:
    started: list[run.RunningServer] = []

    def start(source: view.CostSource | None) -> run.RunningServer:
        started.append(start_with_costs(store, source))
        return started[-1]

    yield start
    for server in reversed(started):
        server.stop()


def scrape(api: httpx.Client) -> Samples:
    response = api.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def owner(name: str, resource: str | None = None, **labels: str
          ) -> tuple[str, frozenset[tuple[str, str]]]:
    """An allocation series: every owner label is present, missing ones empty."""
    full = {label: labels.get(label, "") for label in cost_metrics.ALLOCATION_LABELS}
    if resource is not None:
        full["resource"] = resource
    return key(name, **full)


def named(found: Samples, name: str) -> Samples:
    return {k: v for k, v in found.items() if k[0] == name}


A = {"namespace": "ml", "node": "n1", "team": "a", "experiment": "sft"}
B = {"namespace": "ml", "node": "n1", "team": "b"}


def test_prices_and_holdings_at_now(serve_costs: Start, client: Callable[..., httpx.Client]
                                    ) -> None:
    # At 10 h team b's GPU (0–5 h) is gone; a still holds 1 GPU, 4 cores, 40 GiB and v1.
    found = scrape(client(serve_costs(costs)))
    assert found[key("k8s4ai_cost_source_up")] == 1
    assert found[key("node_gpu_hourly_cost", node="n1", resource=str(H100))] == 4.0
    assert found[key("node_cpu_hourly_cost", node="n1", resource=str(CPU))] == 0.05
    assert found[key("node_ram_hourly_cost", node="n1", resource=str(MEMORY))] == 0.01
    assert found[key("node_gpu_count", node="n1", resource=str(H100))] == 2
    # 2 × $4 + 10 × $0.05 + 100 × $0.01 = $9.50 an hour.
    assert found[key("node_total_hourly_cost", node="n1")] == pytest.approx(9.5)
    assert found[key("pv_hourly_cost", persistentvolume="v1", volumename="v1",
                     resource=str(SSD))] == 0.001
    assert named(found, "container_gpu_allocation") == {owner("container_gpu_allocation", **A): 1}
    assert found[owner("container_cpu_allocation", **A)] == 4
    assert found[owner("container_memory_allocation_bytes", **A)] == 40 * GIB
    spend = named(found, "k8s4ai_allocation_hourly_cost_dollars")
    assert spend == pytest.approx({
        owner("k8s4ai_allocation_hourly_cost_dollars", str(H100), **A): 4.0,
        owner("k8s4ai_allocation_hourly_cost_dollars", str(CPU), **A): 0.2,
        owner("k8s4ai_allocation_hourly_cost_dollars", str(MEMORY), **A): 0.4,
        owner("k8s4ai_allocation_hourly_cost_dollars", str(SSD), **A): 0.1,
    })
    # Idle: 1 GPU $4, 6 cores $0.30, 60 GiB $0.60, nothing of the volume.
    assert named(found, "k8s4ai_idle_hourly_cost_dollars") == pytest.approx({
        key("k8s4ai_idle_hourly_cost_dollars", resource=str(H100)): 4.0,
        key("k8s4ai_idle_hourly_cost_dollars", resource=str(CPU)): 0.3,
        key("k8s4ai_idle_hourly_cost_dollars", resource=str(MEMORY)): 0.6,
        key("k8s4ai_idle_hourly_cost_dollars", resource=str(SSD)): 0.0,
    })


def test_what_is_held_follows_now(serve_costs: Start, client: Callable[..., httpx.Client]
                                  ) -> None:
    at_three = dataclasses.replace(costs(), now=T0 + 3 * HOUR)
    found = scrape(client(serve_costs(lambda: at_three)))
    assert named(found, "container_gpu_allocation") == {
        owner("container_gpu_allocation", **A): 1, owner("container_gpu_allocation", **B): 1,
    }
    assert found[key("k8s4ai_idle_hourly_cost_dollars", resource=str(H100))] == 0


def test_a_failing_source_leaves_the_scrape_standing(
    serve_costs: Start, client: Callable[..., httpx.Client], caplog: pytest.LogCaptureFixture
) -> None:
    failing = [True]

    def flaky() -> view.CostView:
        if failing[0]:
            raise OSError("ledger database is down")
        return costs()

    api = client(serve_costs(flaky))
    with caplog.at_level(logging.ERROR, logger=cost_metrics.__name__):
        down = scrape(api)
    assert down[key("k8s4ai_cost_source_up")] == 0
    assert not named(down, "node_gpu_hourly_cost")
    assert any(name == "k8s4ai_store_resource_version" for name, _ in down)
    assert "cost source failed" in caplog.text and "ledger database is down" in caplog.text
    failing[0] = False
    assert scrape(api)[key("k8s4ai_cost_source_up")] == 1


def test_an_unpriced_resource_is_a_failed_source() -> None:
    unpriced = dataclasses.replace(costs(), prices=pricing.PriceBook())
    collector = cost_metrics.CostCollector(lambda: unpriced)
    collector.refresh()
    [up] = collector.collect()
    assert up.name == "k8s4ai_cost_source_up" and up.samples[0].value == 0


def test_no_cost_metrics_without_a_source(
    serve_costs: Start, client: Callable[..., httpx.Client]
) -> None:
    found = scrape(client(serve_costs(None)))
    assert not [name for name, _ in found if name.startswith(("node_", "k8s4ai_cost"))]
