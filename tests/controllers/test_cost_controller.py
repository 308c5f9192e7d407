"""The cost controller on a real store, driven as `k8s4ai up` drives it: budgets' spending
written to status, a preempted job's first run kept, nothing lost or counted twice when the
controller restarts, and a budget it fills holding the next job in live admission."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from k8s4ai import api, testing
from k8s4ai.api import registry
from k8s4ai.controllers import budget_spend, cost_controller, cost_ledger
from k8s4ai.finops import allocation, pricing, tco
from k8s4ai.store import sqlite

from .cluster import Clock, apply, budget, nodes, open_store, queue, settle

HOUR = 3600.0
PRICE = 3.0
CPU_PRICE = cost_ledger.CPU_MEMORY_PRICES[pricing.RateKey(pricing.ResourceKind.CPU)]
MEMORY_PRICE = cost_ledger.CPU_MEMORY_PRICES[pricing.RateKey(pricing.ResourceKind.MEMORY)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> sqlite.SqliteStore:
    return open_store(tmp_path / "k8s4ai.db", clock)


def cluster(store: sqlite.SqliteStore, racks: int = 1, *extra: dict[str, object]) -> None:
    objs = nodes(racks)
    objs[0] = testing.accelerator_class("h100", pricePerHour=PRICE)
    apply(store, *objs, queue("team-a", 32), testing.checkpoint_policy("hourly"), *extra)


def costs(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> cost_controller.CostController:
    return cost_controller.CostController(store, tmp_path, "k8s4ai", clock=clock)


def spent(store: sqlite.SqliteStore, name: str = "cap") -> tuple[float, float | None]:
    b = store.get("Budget", name)
    assert isinstance(b, api.Budget)
    return b.status.spent, b.status.forecast


def gpu_dollars(c: cost_controller.CostController, job: str) -> float:
    view = c.view()
    rep = allocation.allocate(
        view.ledger, view.prices, allocation.Window(view.now - 30 * 24 * HOUR, view.now), ["job"]
    )
    line = rep.line(job)
    return 0.0 if line is None else line.cost(pricing.ResourceKind.GPU) / 100


def test_a_budget_shows_what_its_queue_spent(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    cluster(store, 1, budget("cap", ["team-a"], amount=1000, period="total"),
            testing.gang("train").gpus(4).count(2).build())
    settle(store, clock)
    c = costs(store, clock, tmp_path)
    assert c.run_once() == 0  # nothing spent yet
    clock.tick(3 * HOUR)
    assert c.run_once() == 1
    # 2 pods x 4 H100 x $3 x 3 h, plus 2 cores and 8 GiB for 3 h at OpenCost's default prices
    expected = 2 * 4 * PRICE * 3 + 2 * CPU_PRICE * 3 + 8 * MEMORY_PRICE * 3
    assert spent(store) == (round(expected, 2), None)
    clock.tick(0.5)
    assert c.run_once() == 0  # $72.2947: the same cents, not written
    clock.tick(60)
    assert c.run_once() == 1


def test_a_monthly_budget_forecasts_what_running_jobs_will_add(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    cluster(store, 1, budget("cap", ["team-a"], amount=10**6, period="monthly"),
            testing.gang("train").gpus(8).build())
    settle(store, clock)
    c = costs(store, clock, tmp_path)
    clock.tick(HOUR)
    c.run_once()
    b = store.get("Budget", "cap")
    assert isinstance(b, api.Budget)
    _, end = budget_spend.period(b.spec, clock.now)
    assert end is not None
    hourly = 8 * PRICE + CPU_PRICE + 4 * MEMORY_PRICE
    left = (end - clock.now).total_seconds() / HOUR
    amount, forecast = spent(store)
    assert forecast == pytest.approx(amount + hourly * left, abs=0.011)


def preempt_then_restart(
    store: sqlite.SqliteStore,
    clock: Clock,
    passes: list[Callable[[], cost_controller.CostController]],
) -> cost_controller.CostController:
    """`low` runs 10 min, is preempted by `high` (saving its checkpoint for 2 min), and runs
    again once `high` is deleted an hour later, for 30 min. `passes` give the cost controller
    of each step (the same one, or a new one: a restart, where the one before ran until the
    step began); returns the last."""
    cluster(store, 2, testing.gang("low").gpus(8).count(2).checkpoint("hourly").build())
    steps = iter(passes)
    ran: list[cost_controller.CostController] = []

    def step(seconds: float) -> None:
        settle(store, clock)
        ran.append(next(steps)())
        ran[-1].run_once()
        clock.tick(seconds)
        ran[-1].run_once()  # the periodic pass, before anything changes

    step(600)
    apply(store, testing.gang("high").gpus(8).count(2).priority(10).build())
    step(180)
    step(HOUR - 180)
    store.delete("GangSchedulingGroup", "high", "default")
    step(30 * 60)
    settle(store, clock)
    return ran[-1]


LOW = 16 * PRICE * (600 + 120 + 30 * 60) / HOUR
HIGH = 16 * PRICE * (HOUR - 120) / HOUR


def test_a_preempted_job_keeps_its_first_run(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    c = costs(store, clock, tmp_path)
    preempt_then_restart(store, clock, [lambda: c] * 4)
    assert (gpu_dollars(c, "low"), gpu_dollars(c, "high")) == (
        pytest.approx(LOW, abs=0.01), pytest.approx(HIGH, abs=0.01)
    )
    job = store.get("GangSchedulingGroup", "low", "default")
    assert isinstance(job, api.GangSchedulingGroup) and job.status.restarts == 1


@pytest.mark.parametrize("restart_after", [1, 2, 3], ids=["preempted", "high-runs", "resumed"])
def test_a_restarted_controller_loses_nothing_and_counts_nothing_twice(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path, restart_after: int
) -> None:
    first = costs(store, clock, tmp_path)

    def new() -> cost_controller.CostController:
        return costs(store, clock, tmp_path)

    def same() -> cost_controller.CostController:
        return first

    last = preempt_then_restart(store, clock, [same] * restart_after + [new] * (4 - restart_after))
    again = costs(store, clock, tmp_path)
    for c in (last, again):
        assert gpu_dollars(c, "low") == pytest.approx(LOW, abs=0.01)
        assert gpu_dollars(c, "high") == pytest.approx(HIGH, abs=0.01)
    journal = (tmp_path / "k8s4ai.ledger.jsonl").read_text().splitlines()
    assert len(journal) == len(set(journal))


def test_a_preemption_while_no_controller_runs_closes_at_the_preemption(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    cluster(store, 2, testing.gang("low").gpus(8).count(2).checkpoint("hourly").build())
    settle(store, clock)
    costs(store, clock, tmp_path).run_once()
    clock.tick(600)
    apply(store, testing.gang("high").gpus(8).count(2).priority(10).build())
    settle(store, clock)  # low preempted, saving until +2 min; nobody records it
    clock.tick(HOUR)
    settle(store, clock)
    later = costs(store, clock, tmp_path)
    assert gpu_dollars(later, "low") == pytest.approx(16 * PRICE * 720 / HOUR, abs=0.01)


def test_a_deleted_job_unseen_since_counts_until_it_was_last_seen(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    cluster(store, 1, testing.gang("train").gpus(8).build())
    settle(store, clock)
    costs(store, clock, tmp_path).run_once()
    clock.tick(HOUR)
    costs(store, clock, tmp_path).run_once()
    clock.tick(HOUR)
    store.delete("GangSchedulingGroup", "train", "default")
    # cost held while no controller watched is not guessed: the last pass saw it at +1 h
    assert gpu_dollars(costs(store, clock, tmp_path), "train") == pytest.approx(8 * PRICE)


def test_a_half_written_journal_line_is_dropped(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    cluster(store, 1, testing.gang("train").gpus(8).build())
    settle(store, clock)
    c = costs(store, clock, tmp_path)
    c.run_once()
    clock.tick(HOUR)
    store.delete("GangSchedulingGroup", "train", "default")
    c.run_once()
    path = tmp_path / "k8s4ai.ledger.jsonl"
    whole = path.read_text()
    path.write_text(whole + '{"record": "allocation", "sta')
    again = costs(store, clock, tmp_path)
    assert path.read_text() == whole
    assert gpu_dollars(again, "train") == pytest.approx(8 * PRICE)


def test_a_budget_the_controller_fills_holds_the_next_job(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    cluster(store, 2, budget("cap", ["team-a"], amount=50, period="total"),
            testing.gang("first").gpus(8).build())
    settle(store, clock)
    c = costs(store, clock, tmp_path)
    clock.tick(3 * HOUR)  # 8 x $3 x 3 h = $72 > $50
    c.run_once()
    assert spent(store)[0] > 50
    apply(store, testing.gang("second").gpus(8).build())
    settle(store, clock)
    job = store.get("GangSchedulingGroup", "second", "default")
    assert isinstance(job, api.GangSchedulingGroup)
    cond = job.status.condition("Admitted")
    assert (job.status.phase, cond and cond.reason) == ("Pending", "BudgetExhausted")


def test_service_replicas_count_while_ready_and_not_while_the_plane_was_down(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    service = {
        "apiVersion": "k8s4ai.io/v1alpha1", "kind": "InferenceService",
        "metadata": {"name": "chat", "namespace": "serving"},
        "spec": {"model": "llama-8b", "replicas": 2,
                 "resources": {"gpus": 1, "acceleratorClass": "h100"}},
    }
    cluster(store, 1, service)

    def ready(replicas: int) -> None:
        store.patch("InferenceService", "chat", "serving",
                    {"status": {"readyReplicas": replicas}}, subresource="status")

    ready(2)
    c = costs(store, clock, tmp_path)
    c.run_once()
    clock.tick(HOUR)
    c.run_once()  # the last pass before `k8s4ai up` stops
    ready(0)  # what stopping does, unseen by the stopped controller
    clock.tick(HOUR)
    ready(2)  # started again
    c = costs(store, clock, tmp_path)
    c.run_once()
    clock.tick(HOUR / 2)
    ready(1)  # scaled down
    c.run_once()
    clock.tick(HOUR / 2)
    view = c.view()
    rep = allocation.allocate(view.ledger, view.prices,
                              allocation.Window(view.now - 4 * HOUR, view.now), [tco.SERVICE])
    line = rep.line("chat")
    assert line is not None
    assert line.cost(pricing.ResourceKind.GPU) / 100 == pytest.approx(PRICE * (2 + 1 + 0.5))


def test_a_finished_job_is_recorded_once(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    cluster(store, 1, testing.gang("train").gpus(8).build())
    settle(store, clock)
    c = costs(store, clock, tmp_path)
    c.run_once()
    clock.tick(HOUR)
    done = {"phase": "Succeeded", "completionTime": clock.now.isoformat()}
    store.patch("GangSchedulingGroup", "train", "default", {"status": done},
                subresource="status")
    for _ in range(3):
        clock.tick(HOUR)
        c.run_once()
    again = costs(store, clock, tmp_path)
    again.run_once()
    for each in (c, again):
        assert gpu_dollars(each, "train") == pytest.approx(8 * PRICE)
    lines = (tmp_path / "k8s4ai.ledger.jsonl").read_text().splitlines()
    assert sum('"job": "train"' in line and "gpu/h100" in line for line in lines) == 1


def test_running_until_stopped_keeps_budgets_current_and_notes_when_it_stopped(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    cluster(store, 1, budget("cap", ["team-a"], amount=1000, period="total"),
            testing.gang("train").gpus(8).build())
    settle(store, clock)
    c = costs(store, clock, tmp_path)
    stop = threading.Event()
    loop = threading.Thread(target=c.run, args=(stop, 0.02))
    loop.start()
    try:
        clock.tick(HOUR)  # no write: the periodic pass sees time pass
        deadline = time.monotonic() + 10
        while spent(store)[0] < 8 * PRICE and time.monotonic() < deadline:
            time.sleep(0.02)
        assert spent(store)[0] == pytest.approx(8 * PRICE + CPU_PRICE + 4 * MEMORY_PRICE, abs=0.01)
        clock.tick(60)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()
    state = json.loads((tmp_path / "k8s4ai.ledger-open.json").read_text())
    assert state["seen"] == clock.now.timestamp()


def test_views_are_shared_while_the_store_is_unchanged_and_young(
    store: sqlite.SqliteStore, clock: Clock, tmp_path: Path
) -> None:
    cluster(store, 1, testing.gang("train").gpus(8).build())
    c = costs(store, clock, tmp_path)
    first = c.view()
    clock.tick(1)
    assert c.view() is first, "nothing written, a second later: the same view"
    store.apply([registry.by_kind("Queue").model_validate(testing.queue("other"))])
    written = c.view()
    assert written is not first, "a write to the store makes a new view"
    clock.tick(5)
    assert c.view() is not written, "and so does age"
