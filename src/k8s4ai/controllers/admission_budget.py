"""Budgets as an admission gate: a job waits while a budget that covers it has spent past a
threshold whose action blocks new work, or would pass it with the job's projected cost
(`budget_spend.projected`: what it costs if it runs its estimated duration).

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
    projected: float = 0.0
    """What the job held would cost; 0 when the budget is past the threshold already."""

    @property
    def limit(self) -> float:
        return self.source.spec.amount * self.threshold.percent / 100

    def message(self) -> str:
        spec = self.source.spec
        spent = self.source.status.spent
        crossing = (
            f"; this job's projected {self.projected:,.2f} would take it to "
            f"{spent + self.projected:,.2f}, past"
            if self.projected
            else ""
        )
        return (
            f"budget {self.source.metadata.name} has spent {spent:,.2f} of "
            f"{spec.amount:,.2f} {spec.currency} ({spec.period}){crossing}; its "
            f"{self.threshold.percent:g}% threshold ({self.limit:,.2f}) blocks new jobs"
        )


def covers(b: budget.Budget, queue: str, labels: Mapping[str, str]) -> bool:
    if queue in b.spec.queues:
        return True
    selector = b.spec.selector
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def exhausted(b: budget.Budget, projected: float = 0.0) -> Exhausted | None:
    """The lowest blocking threshold the budget's spending has reached, or would pass with a
    job projected to cost `projected`, if any."""
    spent = b.status.spent
    reached = [
        t
        for t in b.spec.thresholds
        if t.action in BLOCKING
        and (spent >= (limit := b.spec.amount * t.percent / 100) or spent + projected > limit)
    ]
    if not reached:
        return None
    lowest = min(reached, key=lambda t: t.percent)
    already = spent >= b.spec.amount * lowest.percent / 100
    return Exhausted(b, lowest, 0.0 if already else projected)


def blocking(
    budgets: Sequence[budget.Budget],
    queue: str,
    labels: Mapping[str, str],
    projected: float = 0.0,
) -> Exhausted | None:
    """The first budget (by name) that covers the job and blocks it."""
    for b in sorted(budgets, key=lambda b: b.metadata.name):
        hit = exhausted(b, projected) if covers(b, queue, labels) else None
        if hit is not None:
            return hit
    return None


def gate(
    budgets: Sequence[budget.Budget],
    labels: Mapping[str, Mapping[str, str]],
    projected: Mapping[str, float] | None = None,
) -> cycle.Gate:
    """`labels` and `projected` (dollars, see `budget_spend.projected`): each job's, by its
    scheduler name."""
    costs = projected or {}

    def check(wl: workload.Workload) -> reasons.Reason | None:
        hit = blocking(budgets, wl.queue, labels.get(wl.name, {}), costs.get(wl.name, 0.0))
        if hit is None:
            return None
        return reasons.Reason(
            reasons.Kind.BUDGET,
            hit.message(),
            "Budget",
            {
                "budget": hit.source.metadata.name,
                "spent": hit.source.status.spent,
                "projected": hit.projected,
                "limit": hit.limit,
            },
        )

    return check
