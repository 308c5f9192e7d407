"""`GET /api/v1/allocation` on a real server over a hand-made ledger: every figure below is
worked out in `costs()`'s comment, to the cent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from k8s4ai.finops import ledger, pricing, utilisation, view
from k8s4ai.server import allocation_api, run
from k8s4ai.store import sqlite

from .conftest import READ_TOKEN, TOKENS

pytestmark = pytest.mark.integration

HOUR = 3600.0
T0 = datetime(2025, 1, 6, tzinfo=UTC).timestamp()
"""A Monday, midnight UTC; the view's `now` is ten hours later."""
H100 = pricing.RateKey(pricing.ResourceKind.GPU, "h100")
CPU = pricing.RateKey(pricing.ResourceKind.CPU)
MEMORY = pricing.RateKey(pricing.ResourceKind.MEMORY)
SSD = pricing.RateKey(pricing.ResourceKind.STORAGE, "ssd")
PATH = "/api/v1/allocation"
Start = Callable[..., run.RunningServer]


def costs() -> view.CostView:
    """Node n1 for 10 h: 2 H100 at $4/h ($80), 10 cores at $0.05/h ($5), 100 GiB at $0.01/h
    ($10), and volume v1 of 100 GB at $0.001/GB-h ($1): a $96 bill.
    Team a (experiment sft) holds 1 GPU ($40), 4 cores ($2), 40 GiB ($4) and v1 ($1) for the
    10 h: $47. Team b (no experiment) holds 1 GPU for the first 5 h: $20. Idle: GPU $20,
    CPU $3, memory $6, storage $0: $29. a's GPU ran at 40 % every hour (on the usage basis
    $16, and GPU idle $44)."""
    node = {"node": "n1"}
    assets = (
        ledger.IntervalsBuilder()
        .add(T0, T0 + 10 * HOUR, H100, 2, node).add(T0, T0 + 10 * HOUR, CPU, 10, node)
        .add(T0, T0 + 10 * HOUR, MEMORY, 100, node)
        .add(T0, T0 + 10 * HOUR, SSD, 100, {"volume": "v1"})
    )
    a = {"team": "a", "experiment": "sft", "namespace": "ml", "node": "n1"}
    allocations = (
        ledger.IntervalsBuilder()
        .add(T0, T0 + 10 * HOUR, H100, 1, a).add(T0, T0 + 10 * HOUR, CPU, 4, a)
        .add(T0, T0 + 10 * HOUR, MEMORY, 40, a)
        .add(T0, T0 + 10 * HOUR, SSD, 100, {**a, "volume": "v1"})
        .add(T0, T0 + 5 * HOUR, H100, 1, {"team": "b", "namespace": "ml", "node": "n1"})
    )
    samples = utilisation.SamplesBuilder()
    for hour in range(10):
        samples.add(0, T0 + (hour + 0.5) * HOUR, 0.4, 20.0)
    prices = pricing.PriceBook(
        {H100: pricing.PriceSchedule.constant(4.0), CPU: pricing.PriceSchedule.constant(0.05),
         MEMORY: pricing.PriceSchedule.constant(0.01), SSD: pricing.PriceSchedule.constant(0.001)}
    )
    return view.CostView(
        ledger.Ledger(allocations.build(), assets.build()), samples.build(), prices,
        now=T0 + 10 * HOUR,
    )


def start_with_costs(store: sqlite.SqliteStore, source: view.CostSource | None,
                     tokens: dict[str, Any] | None = None) -> run.RunningServer:
    return run.start(store, tokens=tokens, poll_seconds=0.2, cost=source)


@pytest.fixture
def serve_costs(store: sqlite.SqliteStore) -> Iterator[Start]:
    started: list[run.RunningServer] = []

    def start(source: view.CostSource | None, tokens: dict[str, Any] | None = None
              ) -> run.RunningServer:
        started.append(start_with_costs(store, source, tokens))
        return started[-1]

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def api(serve_costs: Start, client: Callable[..., httpx.Client]) -> httpx.Client:
    return client(serve_costs(costs))


def sets(api: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = api.get(PATH, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 200
    data: list[dict[str, Any]] = body["data"]
    return data


def totals(one: dict[str, Any]) -> dict[str, float]:
    return {name: allocation["totalCost"] for name, allocation in one.items()}


def test_costs_by_team_and_experiment_with_idle(api: httpx.Client) -> None:
    [one] = sets(api, window="10h", aggregate="team,experiment", includeIdle="true")
    assert totals(one) == {"a/sft": 47.0, "b/__unallocated__": 20.0, "__idle__": 29.0}
    a = one["a/sft"]
    assert (a["gpuCost"], a["cpuCost"], a["ramCost"], a["pvCost"]) == (40.0, 2.0, 4.0, 1.0)
    assert a["name"] == "a/sft"
    assert a["properties"] == {"labels": {"team": "a", "experiment": "sft"}}
    assert one["b/__unallocated__"]["properties"] == {"labels": {"team": "b"}}
    window = {"start": "2025-01-06T00:00:00Z", "end": "2025-01-06T10:00:00Z"}
    assert a["window"] == window and (a["start"], a["end"]) == (window["start"], window["end"])
    assert a["minutes"] == 600
    idle = one["__idle__"]
    assert (idle["gpuCost"], idle["cpuCost"], idle["ramCost"], idle["pvCost"]) == (20, 3, 6, 0)


def test_idle_is_left_out_unless_asked_for(api: httpx.Client) -> None:
    [one] = sets(api, window="10h", aggregate="team")
    assert totals(one) == {"a": 47.0, "b": 20.0}


def test_share_idle_gives_idle_back_per_resource(api: httpx.Client) -> None:
    # GPU idle $20 goes 40:20 → a $53.33, b $26.67; CPU $3 and memory $6 all to a, the only
    # holder: a $53.33 + $5 + $10 + $1 = $69.33. Nothing is left idle.
    [one] = sets(api, window="10h", aggregate="team", shareIdle="true", includeIdle="true")
    assert totals(one) == {"a": 69.33, "b": 26.67}


def test_usage_basis_charges_what_the_gpu_did(api: httpx.Client) -> None:
    # a's GPU: $40 × 0.4 = $16, so a $23; GPU idle $20 + $24 = $44, idle $53; b had no
    # samples and is charged as held.
    [one] = sets(api, window="10h", aggregate="team", includeIdle="true", basis="usage")
    assert totals(one) == {"a": 23.0, "b": 20.0, "__idle__": 53.0}
    assert one["a"]["gpuCost"] == 16.0


def test_steps_split_the_window(api: httpx.Client) -> None:
    # 0–5 h: a half of $47 = $23.50, b $20, idle CPU $1.50 + memory $3 = $4.50.
    # 5–10 h: a $23.50, b gone, idle GPU $20 + $4.50 = $24.50.
    first, second = sets(api, window="10h", aggregate="team", step="5h", includeIdle="true")
    assert totals(first) == {"a": 23.5, "b": 20.0, "__idle__": 4.5}
    assert totals(second) == {"a": 23.5, "__idle__": 24.5}
    assert second["a"]["window"] == {"start": "2025-01-06T05:00:00Z",
                                     "end": "2025-01-06T10:00:00Z"}


def test_the_last_step_is_cut_at_the_window_end(api: httpx.Client) -> None:
    found = sets(api, window="10h", aggregate="team", step="4h")
    assert [s["a"]["window"]["end"][11:16] for s in found] == ["04:00", "08:00", "10:00"]
    assert [s["a"]["totalCost"] for s in found] == [18.8, 18.8, 9.4]


def test_accumulate_makes_one_set_of_the_whole_window(api: httpx.Client) -> None:
    whole = sets(api, window="10h", aggregate="team", step="1h", accumulate="true")
    assert whole == sets(api, window="10h", aggregate="team")


@pytest.mark.parametrize(
    "window",
    ["today", "2025-01-06T00:00:00Z,2025-01-06T10:00:00Z", f"{T0:.0f},{T0 + 10 * HOUR:.0f}"],
    ids=["today", "rfc3339", "epoch"],
)
def test_window_forms(api: httpx.Client, window: str) -> None:
    [one] = sets(api, window=window, aggregate="label:team")
    assert totals(one) == {"a": 47.0, "b": 20.0}


@pytest.mark.parametrize(
    ("word", "start", "end"),
    [
        ("today", "2025-03-05T00:00", "2025-03-05T10:30"),
        ("yesterday", "2025-03-04T00:00", "2025-03-05T00:00"),
        ("week", "2025-03-03T00:00", "2025-03-05T10:30"),
        ("lastweek", "2025-02-24T00:00", "2025-03-03T00:00"),
        ("month", "2025-03-01T00:00", "2025-03-05T10:30"),
        ("lastmonth", "2025-02-01T00:00", "2025-03-01T00:00"),
    ],
)
def test_calendar_windows_are_utc_and_weeks_start_on_monday(word: str, start: str, end: str
                                                            ) -> None:
    now = datetime(2025, 3, 5, 10, 30, tzinfo=UTC).timestamp()  # a Wednesday
    window = allocation_api.resolve_window(word.upper(), now)
    assert (window.start, window.end) == (
        datetime.fromisoformat(f"{start}+00:00").timestamp(),
        datetime.fromisoformat(f"{end}+00:00").timestamp(),
    )


def test_a_window_before_anything_existed_is_an_empty_set(api: httpx.Client) -> None:
    assert sets(api, window="yesterday", includeIdle="true") == [{}]


def test_namespace_is_the_default_aggregate(api: httpx.Client) -> None:
    [one] = sets(api, window="10h")
    assert totals(one) == {"ml": 67.0}
    assert one["ml"]["properties"] == {"labels": {"namespace": "ml"}, "namespace": "ml"}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "window"),
        ({"window": "fortnight"}, "window"),
        ({"window": "2025-01-06T10:00:00Z,2025-01-06T00:00:00Z"}, "window"),
        ({"window": "0,inf"}, "window"),
        ({"window": "10h", "step": "0s"}, "step"),
        ({"window": "10h", "step": "daily"}, "step"),
        ({"window": "10h", "step": "1s"}, "step"),
        ({"window": "10h", "includeIdle": "maybe"}, "includeIdle"),
        ({"window": "10h", "shareIdle": "yes please"}, "shareIdle"),
        ({"window": "10h", "accumulate": "2"}, "accumulate"),
        ({"window": "10h", "basis": "cheapest"}, "basis"),
        ({"window": "10h", "aggregate": "team,,model"}, "aggregate"),
    ],
    ids=["no-window", "bad-window", "backwards-window", "endless-window", "zero-step", "bad-step",
         "too-many-steps", "includeIdle", "shareIdle", "accumulate", "basis", "aggregate"],
)
def test_bad_parameters_are_400_naming_the_parameter(
    api: httpx.Client, params: dict[str, str], named: str
) -> None:
    response = api.get(PATH, params=params)
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{named}: ")


def test_without_a_cost_source_it_is_404_and_says_why(
    serve_costs: Start, client: Callable[..., httpx.Client]
) -> None:
    response = client(serve_costs(None)).get(PATH, params={"window": "1d"})
    assert response.status_code == 404
    assert "not configured" in response.json()["message"]


def test_a_failing_cost_source_is_503(
    serve_costs: Start, client: Callable[..., httpx.Client]
) -> None:
    def broken() -> view.CostView:
        raise OSError("ledger database is down")

    response = client(serve_costs(broken)).get(PATH, params={"window": "1d"})
    assert response.status_code == 503
    assert "ledger database is down" in response.json()["message"]


def test_it_needs_a_token_like_reading_objects(
    serve_costs: Start, client: Callable[..., httpx.Client]
) -> None:
    secured = serve_costs(costs, TOKENS)
    assert client(secured).get(PATH, params={"window": "10h"}).status_code == 401
    reader = client(secured, READ_TOKEN).get(PATH, params={"window": "10h"})
    assert reader.status_code == 200
    assert reader.json()["data"][0]["ml"]["totalCost"] == 67.0
