"""`GET /api/v1/cost` over the hand-made ledger of test_allocation_api: the hourly rate now and
the month's bill, equal to what `/metrics` and `/api/v1/allocation` say for the same view;
and answers computed from one cost view are reused only while the source hands out that view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from k8s4ai.finops import utilisation, view
from k8s4ai.server import cost_views

from .test_allocation_api import Start, costs, serve_costs  # noqa: F401 - a fixture

pytestmark = pytest.mark.integration


@pytest.fixture
def api(serve_costs: Start, client: Callable[..., httpx.Client]) -> httpx.Client:  # noqa: F811
    return client(serve_costs(costs))


def test_rate_and_month_to_date(api: httpx.Client) -> None:
    # At the view's now (10 h after a Monday in January 2025) n1 and v1 cost $9.60/h:
    # 2 × $4 + 10 × $0.05 + 100 × $0.01 + 100 × $0.001; team a holds $4.70/h of it (b stopped
    # at 5 h). The month so far is the whole ledger: $96.
    answer = api.get("/api/v1/cost")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["currency"] == "USD" and body["time"] == "2025-01-06T10:00:00Z"
    assert body["configured"] is True
    assert body["hourly"] == pytest.approx({"total": 9.6, "allocated": 4.7, "idle": 4.9})
    assert body["monthToDate"] == {
        "start": "2025-01-01T00:00:00Z", "end": "2025-01-06T10:00:00Z", "total": 96.0,
        "byResource": {"gpu": 80.0, "cpu": 5.0, "memory": 10.0, "storage": 1.0},
    }  # fmt: skip


def test_it_agrees_with_metrics_and_allocation(api: httpx.Client) -> None:
    body = api.get("/api/v1/cost").json()
    scraped = {f.name: sum(s.value for s in f.samples)
               for f in text_string_to_metric_families(api.get("/metrics").text)}  # fmt: skip
    assert body["hourly"]["allocated"] == pytest.approx(
        scraped["k8s4ai_allocation_hourly_cost_dollars"])
    assert body["hourly"]["idle"] == pytest.approx(scraped["k8s4ai_idle_hourly_cost_dollars"])
    month = api.get("/api/v1/allocation", params={
        "window": "month", "includeIdle": "true", "accumulate": "true",
    }).json()["data"][0]  # fmt: skip
    assert body["monthToDate"]["total"] == pytest.approx(
        sum(line["totalCost"] for line in month.values()))


def test_without_a_cost_source_it_says_so(
    serve_costs: Start, client: Callable[..., httpx.Client]  # noqa: F811
) -> None:
    api = client(serve_costs(None))
    answer = api.get("/api/v1/cost")
    assert answer.status_code == 200 and answer.json() == {"currency": "USD", "configured": False}
    assert api.get("/api/v1/findings").status_code == 404


def test_answers_are_kept_only_while_the_view_is_the_same() -> None:
    memo = cost_views.PerView()
    first, second = costs(), costs()
    calls: list[str] = []

    def compute(name: str) -> Callable[[], str]:
        def run() -> str:
            calls.append(name)
            return name

        return run

    assert memo.get(first, "q", compute("a")) == "a"
    assert memo.get(first, "q", compute("b")) == "a"
    assert memo.get(first, "other", compute("c")) == "c"
    assert memo.get(second, "q", compute("d")) == "d"
    assert memo.get(first, "q", compute("e")) == "e"
    assert calls == ["a", "c", "d", "e"]
    assert isinstance(first, view.CostView)


def test_gpus_busy_from_the_latest_recent_sample(
    serve_costs: Start, client: Callable[..., httpx.Client]  # noqa: F811
) -> None:
    # At 10 h team a holds 1 H100 (row 0; b's stopped at 5 h). Its hourly samples end 30
    # minutes before now: too old to say how busy it is now, so it is held but not sampled.
    # Add one a minute before now at 70 % (and an older one at 10 %, which must not count).
    base = costs()
    api = client(serve_costs(lambda: base))
    assert api.get("/api/v1/cost").json()["gpus"] == {
        "held": 1.0, "sampled": 0.0, "busy": 0.0, "sampleSeconds": 600.0,
        "byClass": [{"name": "h100", "held": 1.0, "sampled": 0.0, "busy": 0.0}],
    }  # fmt: skip
    samples = base.samples
    fresh = replace(base, samples=utilisation.Samples(
        np.append(samples.row, [0, 0]), np.append(samples.time, [base.now - 300, base.now - 60]),
        np.append(samples.engine_active, [0.1, 0.7]), np.append(samples.memory_used, [1, 1]),
    ))  # fmt: skip
    gpus = client(serve_costs(lambda: fresh)).get("/api/v1/cost").json()["gpus"]
    assert (gpus["held"], gpus["sampled"]) == (1.0, 1.0)
    assert gpus["busy"] == pytest.approx(0.7)
