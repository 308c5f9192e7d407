"""Budgets from the cost ledger: the current period, what the covered jobs spent in it, and a
hard budget holding (then admitting) a job through the live admission controller."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from k8s4ai import api, testing
from k8s4ai.controllers import budget_spend
from k8s4ai.finops import ledger, pricing
from k8s4ai.store import sqlite

from .cluster import Clock, apply, budget, nodes, open_store, queue, settle

HOUR = 3600.0
DAY = 24 * HOUR
H100 = pricing.RateKey(pricing.ResourceKind.GPU, "h100")
PRICES = pricing.PriceBook().with_price(H100, 3.0)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spec(period: str, start: date | None = None, **scope: Any) -> api.BudgetSpec:
    return api.BudgetSpec.model_validate(
        {"queues": ["team-a"], "amount": 100, "period": period, "start": start, **scope}
    )


@pytest.mark.parametrize(
    ("period", "start", "now", "expected"),
    [
        pytest.param("daily", None, "2026-03-10T15:00", ("2026-03-10", "2026-03-11"), id="day"),
        pytest.param("weekly", None, "2026-03-12T15:00", ("2026-03-09", "2026-03-16"),
                     id="iso-week"),
        pytest.param("weekly", date(2026, 3, 4), "2026-03-12T15:00",
                     ("2026-03-11", "2026-03-18"), id="week-from-start"),
        pytest.param("monthly", None, "2026-03-10T15:00", ("2026-03-01", "2026-04-01"),
                     id="month"),
        pytest.param("monthly", date(2026, 1, 31), "2026-03-10T15:00",
                     ("2026-02-28", "2026-03-31"), id="month-from-31st"),
        pytest.param("quarterly", None, "2026-05-10T15:00", ("2026-04-01", "2026-07-01"),
                     id="quarter"),
        pytest.param("total", date(2026, 1, 1), "2026-05-10T15:00", ("2026-01-01", None),
                     id="total"),
    ],
)
def test_current_period(
    period: str, start: date | None, now: str, expected: tuple[str, str | None]
) -> None:
    begin, end = budget_spend.period(spec(period, start), at(now))
    assert (begin, end) == (at(expected[0]), at(expected[1]) if expected[1] else None)


def spending(day: datetime) -> ledger.Ledger:
    """team-a: 8 GPUs for 10 h the day before `day` ($240), 4 GPUs for 5 h from 00:30 on
    `day` ($60); team-b (labelled project=x): 2 GPUs for 5 h on `day` ($30); 16 GPUs exist."""
    t = day.timestamp()
    held = (
        ledger.IntervalsBuilder()
        .add(t - 12 * HOUR, t - 2 * HOUR, H100, 8, {"queue": "team-a"})
        .add(t + HOUR / 2, t + 5.5 * HOUR, H100, 4, {"queue": "team-a"})
        .add(t + HOUR / 2, t + 5.5 * HOUR, H100, 2, {"queue": "team-b", "project": "x"})
    )
    assets = ledger.IntervalsBuilder().add(t - DAY, t + DAY, H100, 16)
    return ledger.Ledger(held.build(), assets.build())


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        pytest.param({}, 60.0, id="queue"),
        pytest.param({"queues": [], "selector": {"project": "x"}}, 30.0, id="selector"),
        pytest.param({"queues": ["team-b"], "selector": {"project": "y"}}, 30.0,
                     id="queue-or-selector"),
    ],
)
def test_spent_in_the_period_from_the_ledger(scope: dict[str, Any], expected: float) -> None:
    day = at("2026-03-10T00:00")
    b = api.Budget.model_validate(
        {"metadata": {"name": "cap"}, "spec": spec("daily", **scope).model_dump(by_alias=True)}
    )
    assert budget_spend.spent(b, spending(day), PRICES, day + timedelta(hours=8)) == expected


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> sqlite.SqliteStore:
    return open_store(tmp_path / "k8s4ai.db", clock)


def keep_spent(store: sqlite.SqliteStore, book: ledger.Ledger, now: datetime) -> float:
    """What cost accounting does for the budget: its period's spending into status.spent."""
    b = store.get("Budget", "cap")
    assert isinstance(b, api.Budget)
    spent = budget_spend.spent(b, book, PRICES, now)
    store.patch("Budget", "cap", None, {"status": {"spent": spent}}, subresource="status")
    return spent


def admission(store: sqlite.SqliteStore) -> tuple[str, str, str]:
    g = store.get("GangSchedulingGroup", "train", "default")
    assert isinstance(g, api.GangSchedulingGroup)
    cond = g.status.condition("Admitted")
    assert cond is not None
    return g.status.phase, cond.reason, cond.message


@pytest.mark.parametrize("release", ["period-rolls-over", "budget-raised"])
def test_a_hard_budget_holds_a_job_that_would_cross_it(
    store: sqlite.SqliteStore, clock: Clock, release: str
) -> None:
    _, tomorrow = budget_spend.period(spec("daily"), clock.now)
    assert tomorrow is not None
    clock.now = tomorrow + timedelta(hours=6)
    book = spending(tomorrow)
    cluster = nodes(2)
    cluster[0] = testing.accelerator_class("h100", pricePerHour=3.0)
    cap = budget("cap", ["team-a"], period="daily")
    train = testing.gang("train").gpus(8).build()
    train["spec"]["estimatedDuration"] = "2h"
    apply(store, *cluster, queue("team-a", 16), cap)
    assert keep_spent(store, book, clock.now) == 60.0
    apply(store, train)
    settle(store, clock)
    # 8 GPUs × $3 × 2 h = $48 on top of $60 spent today crosses the $100 block-new threshold.
    assert admission(store) == (
        "Pending",
        "BudgetExhausted",
        "budget cap has spent 60.00 of 100.00 USD (daily); this job's projected 48.00 would "
        "take it to 108.00, past; its 100% threshold (100.00) blocks new jobs",
    )
    if release == "period-rolls-over":
        clock.now = tomorrow + timedelta(days=1, minutes=1)
        assert keep_spent(store, book, clock.now) == 0.0
    else:
        apply(store, budget("cap", ["team-a"], amount=150, period="daily"))
    settle(store, clock)
    assert admission(store)[:2] == ("Admitted", "Admitted")
