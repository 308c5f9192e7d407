"""`k8s4ai explain`: one case per kind of refusal, each set up in a real store, decided by the
admission controller, and explained by the CLI with the right reason and numbers."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from k8s4ai import testing
from k8s4ai.cli import context
from k8s4ai.store import sqlite

from ..controllers.cluster import (
    Clock,
    apply,
    budget,
    controller,
    nodes,
    open_store,
    queue,
    settle,
)
from .conftest import Invoke

Setup = Callable[[sqlite.SqliteStore, Clock], None]


@dataclass(frozen=True)
class Case:
    setup: Setup
    job: str
    says: tuple[str, ...]
    policy: str = "k8s4ai"
    settle: bool = True
    """Run the controllers until they are done after `setup` (else `setup` ran them)."""


def quota(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(4), queue("team-a", 16), testing.gang("running").gpus(8).count(2).build())
    settle(store, clock)
    apply(store, testing.gang("job").gpus(8).build())


def borrowing(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(4), queue("team-a", 8, cohort="research", borrowing=8),
          queue("team-b", 24, cohort="research"), testing.gang("running").gpus(8).count(2).build())
    settle(store, clock)
    apply(store, testing.gang("job").gpus(8).build())


def too_big(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(4), queue("team-a", 8, cohort="research", borrowing=8),
          queue("team-b", 24, cohort="research"), testing.gang("job").gpus(8).count(3).build())


def gang_cannot_fit(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(2), queue("team-a", 64), testing.gang("running").gpus(8).build())
    settle(store, clock)
    apply(store, testing.gang("job").gpus(8).count(2).build())


def fragmentation(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(1, 1), queue("team-a", 64), testing.gang("a").gpus(5).build(),
          testing.gang("b").gpus(5).build())
    settle(store, clock)
    apply(store, testing.gang("job").gpus(6).build())


def unschedulable(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(2), queue("team-a", 64), testing.gang("job").gpus(16).build())


def preempted(store: sqlite.SqliteStore, clock: Clock) -> None:
    """Right after the preemption, as the cycle that decided it left the job."""
    apply(store, *nodes(2), queue("team-a", 64), testing.gang("job").gpus(8).count(2).build())
    settle(store, clock)
    clock.tick(600)
    apply(store, testing.gang("urgent").gpus(8).count(2).priority(5).build())
    controller(store, clock).run_once()


def preempted_then_waiting(store: sqlite.SqliteStore, clock: Clock) -> None:
    preempted(store, clock)
    settle(store, clock)


def budget_exhausted(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(1), queue("team-a", 64), budget("team-a-budget", ["team-a"], 1000))
    store.patch("Budget", "team-a-budget", None, {"status": {"spent": 1250}}, "status")
    apply(store, testing.gang("job").gpus(1).build())


def budget_would_cross(store: sqlite.SqliteStore, clock: Clock) -> None:
    cluster = nodes(1)
    cluster[0] = testing.accelerator_class("h100", pricePerHour=3.0)
    apply(store, *cluster, queue("team-a", 64), budget("team-a-budget", ["team-a"], 1000))
    store.patch("Budget", "team-a-budget", None, {"status": {"spent": 900}}, "status")
    job = testing.gang("job").gpus(8).build()
    job["spec"]["estimatedDuration"] = "5h"
    apply(store, job)


def queue_held(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(1), queue("team-a", 64, stopPolicy="Hold"),
          testing.gang("job").gpus(1).build())


def queue_missing(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(1), queue("team-a", 64), queue("old", 8),
          testing.gang("job").queue("old").gpus(1).build())
    store.delete("Queue", "old")


def blocked_by_head(store: sqlite.SqliteStore, clock: Clock) -> None:
    apply(store, *nodes(2), queue("team-a", 64), testing.gang("a-head").gpus(8).count(3).build())
    clock.tick(1)
    apply(store, testing.gang("job").gpus(1).build())


CASES = {
    "QuotaExceeded": Case(quota, "job", (
        "is Pending: QuotaExceeded",
        "needs 8 GPUs (1 pod × 8) of class h100 at once",
        "queue team-a uses 16 of its nominal 16 gpu (h100); the job asks 8",
        "queue team-a is in no cohort, so it cannot borrow",
        "jobs of queue team-a finishing: default/running 16 gpu (h100)",
    )),
    "QuotaExceeded-borrowing": Case(borrowing, "job", (
        "is Pending: QuotaExceeded",
        "queue team-a would borrow 16 gpu (h100), above its borrowing limit of 8",
        "queue team-a uses 16 of its nominal 8 gpu (h100) (borrowing 8); the job asks 8",
        "it may borrow at most 8 gpu (h100) from cohort research, which has 16 left to lend",
        "jobs of queue team-a finishing: default/running 16 gpu (h100)",
    )),
    "QuotaExceeded-never": Case(too_big, "job", (
        "is Pending: QuotaExceeded",
        "even idle, queue team-a can hold at most 16 gpu (h100)",
        "asking for 2 pods instead of 3: that fits the quota now",
    )),
    "GangCannotFit": Case(gang_cannot_fit, "job", (
        "is Pending: GangCannotFit",
        "needs 16 GPUs (2 pods × 8) of class h100 at once",
        "8 h100 GPUs are free: n",
        "each worker pod needs 8 whole GPUs on one node: 1 node can take one now, and the job "
        "has 2",
        "running on those nodes: default/running 8 GPUs",
        "8 more h100 GPUs freed by jobs finishing",
    )),
    "Fragmentation": Case(fragmentation, "job", (
        "is Pending: Fragmentation",
        "6 GPUs are free but scattered",
        "6 h100 GPUs are free: n1 3, n2 3",
        "each worker pod needs 6 whole GPUs on one node: 0 nodes can take one now",
        "smaller pods: 2 pods × 3 GPUs would fit the free GPUs as they lie",
    )),
    "Unschedulable": Case(unschedulable, "job", (
        "is Pending: Unschedulable",
        "each worker pod asks 16 GPUs on one node; the largest h100 node has 8",
        "waiting will not help; change the job: at most 8 GPUs per pod: e.g. 2 pods × 8 GPUs",
    )),
    "Preempted": Case(preempted, "job", (
        "is Preempted: Preempted — preempted by default/urgent (a higher-priority job of its "
        "queue) at ",
        "; lost 600s of work",
        "a CheckpointPolicy (spec.checkpointPolicy) with beforePreemption: true",
    ), settle=False),
    "Preempted-then-waiting": Case(preempted_then_waiting, "job", (
        "is Preempted: GangCannotFit — needs 16 GPUs for 2 pods at once; 0 are free",
        "it ran and was preempted by default/urgent (a higher-priority job of its queue)",
        "running on those nodes: default/urgent 16 GPUs",
    )),
    "BudgetExhausted": Case(budget_exhausted, "job", (
        "is Pending: BudgetExhausted",
        "budget team-a-budget has spent 1,250.00 of 1,000.00 USD (monthly); its 100% threshold "
        "(1,000.00) blocks new jobs",
        "budget team-a-budget covers it by its queue team-a",
        "raising spec.amount of budget team-a-budget",
    )),
    "BudgetExhausted-projected": Case(budget_would_cross, "job", (
        "is Pending: BudgetExhausted",
        # 8 GPUs × $3 × 5 h.
        "budget team-a-budget has spent 900.00 of 1,000.00 USD (monthly); this job's "
        "projected 120.00 would take it to 1,020.00, past; its 100% threshold (1,000.00)",
        "budget team-a-budget covers it by its queue team-a",
    )),
    "QueueHeld": Case(queue_held, "job", (
        "is Pending: QueueHeld",
        "queue team-a has stopPolicy: Hold: it admits no new job",
        "setting spec.stopPolicy: None on queue team-a",
    )),
    "QueueNotFound": Case(queue_missing, "job", (
        "is Pending: QueueNotFound",
        "queue old does not exist; the queues are: team-a",
        "creating queue old, or setting the job's spec.queue to an existing one",
    )),
    "BlockedByHead": Case(blocked_by_head, "job", (
        "is Pending: BlockedByHead",
        "queue team-a admits in strict FIFO order and default/a-head (priority 0) is ahead of it",
        "default/a-head waits: GangCannotFit: needs 24 GPUs for 3 pods at once; 16 are free",
    ), policy="strict-fifo"),
    "BlockedByHead-reservation": Case(blocked_by_head, "job", (
        "is Pending: BlockedByHead",
        "default/a-head, ahead of it in queue team-a, cannot start yet and holds 16 free GPUs",
        "the first job of queue team-a that cannot start holds the free GPUs it waits for",
        "the job ahead starting or being deleted",
    )),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_explain_names_the_reason_and_the_numbers(
    k8s4ai: Invoke, home: Path, case: Case
) -> None:
    clock = Clock()
    with open_store(context.default_db(), clock) as store:
        case.setup(store, clock)
        if case.settle:
            settle(store, clock, case.policy)
    result = k8s4ai("explain", case.job, "--policy", case.policy)
    assert result.exit_code == 0, result.output
    for expected in case.says:
        assert expected in result.stdout, f"{expected!r} not in:\n{result.stdout}"


def test_explain_without_a_controller_runs_a_cycle_to_say_what_it_would_decide(
    k8s4ai: Invoke, home: Path
) -> None:
    with open_store(context.default_db(), Clock()) as store:
        apply(store, *nodes(1), queue("team-a", 8), testing.gang("job").gpus(8).count(2).build())
    out = k8s4ai("explain", "job").stdout
    assert "is Pending: QuotaExceeded — no admission controller has decided on it yet" in out


def test_explain_an_admitted_job_says_where_it_runs(k8s4ai: Invoke, home: Path) -> None:
    clock = Clock()
    with open_store(context.default_db(), clock) as store:
        apply(store, *nodes(1), queue("team-a", 8), testing.gang("job", "ml").gpus(8).build())
        settle(store, clock)
    out = k8s4ai("explain", "job", "-n", "ml").stdout
    assert out.startswith("ml/job is Admitted in queue team-a since ")
    assert out.rstrip().endswith(": worker on n1.")


def test_explain_a_missing_job_fails(k8s4ai: Invoke) -> None:
    result = k8s4ai("explain", "nope")
    assert result.exit_code == 1 and "not found" in result.stderr


def test_describe_shows_why_a_job_waits(k8s4ai: Invoke, home: Path) -> None:
    clock = Clock()
    with open_store(context.default_db(), clock) as store:
        unschedulable(store, clock)
        settle(store, clock)
    out = k8s4ai("describe", "gang", "job").stdout
    assert "Waiting:           Unschedulable: pod default/job/worker/0 needs 16 GPUs" in out
    assert "`k8s4ai explain job -n default` says what would let it start" in out
