"""Budgets as an admission gate: a job waits while a budget that covers it has spent past a
threshold whose action blocks new work.

A budget covers a job when the job's queue is in `spec.queues`, or when its `selector` is
non-empty and matches the job's labels. It blocks at its lowest `block-new` or `preempt`
threshold whose share of `amount` has been spent (`status.spent`, kept by cost accounting);
`notify` thresholds never block. Jobs already running are left alone: stopping them is a
cost-policy decision, not admission's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from k8s4ai.api import budget
from k8s4ai.scheduler.admission import cycle, reasons, workload

BLOCKING = ("block-new", "preempt")


@dataclass(frozen=True, slots=True)
class Exhausted:
    source: budget.Budget
    threshold: budget.BudgetThreshold

    @property
    def limit(self) -> float:
        return self.source.spec.amount * self.threshold.percent / 100

    def message(self) -> str:
        spec = self.source.spec
        return (
            f"budget {self.source.metadata.name} has spent {self.source.status.spent:,.2f} of "
            f"{spec.amount:,.2f} {spec.currency} ({spec.period}); its {self.threshold.percent:g}% "
            f"threshold ({self.limit:,.2f}) blocks new jobs"
        )


def covers(b: budget.Budget, queue: str, labels: Mapping[str, str]) -> bool:
    if queue in b.spec.queues:
        return True
    selector = b.spec.selector
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def exhausted(b: budget.Budget) -> Exhausted | None:
    """The lowest blocking threshold the budget's spending has reached, if any."""
    reached = [
        t
        for t in b.spec.thresholds
        if t.action in BLOCKING and b.status.spent >= b.spec.amount * t.percent / 100
    ]
    if not reached:
        return None
    return Exhausted(b, min(reached, key=lambda t: t.percent))


def blocking(
    budgets: Sequence[budget.Budget], queue: str, labels: Mapping[str, str]
) -> Exhausted | None:
    """The first budget (by name) that covers the job and blocks it."""
    for b in sorted(budgets, key=lambda b: b.metadata.name):
        hit = exhausted(b) if covers(b, queue, labels) else None
        if hit is not None:
            return hit
    return None


def gate(budgets: Sequence[budget.Budget], labels: Mapping[str, Mapping[str, str]]) -> cycle.Gate:
    """`labels`: each job's labels, by its scheduler name."""

    def check(wl: workload.Workload) -> reasons.Reason | None:
        hit = blocking(budgets, wl.queue, labels.get(wl.name, {}))
        if hit is None:
            return None
        return reasons.Reason(
            reasons.Kind.BUDGET,
            hit.message(),
            "Budget",
            {
                "budget": hit.source.metadata.name,
                "spent": hit.source.status.spent,
                "limit": hit.limit,
            },
        )

    return check
