"""What a Budget has spent in its current period, from the cost ledger, and what a job would
add to it: the numbers the admission gate (`admission_budget`) compares with the limit.

Spent is the allocation basis (what the covered jobs held, priced as the ledger prices it)
from the start of the budget's current period to now; idle capacity is nobody's spending, so
it is not charged to budgets. A job's projected cost is its GPUs × its GPU class's on-demand
price × its `estimatedDuration`; a job without an estimate projects nothing (only spending
already past the limit holds it), since any guessed duration would hold or pass jobs
arbitrarily. GPUs dominate what a job costs; its CPU and memory are left out of the
projection but counted in spent once held.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta

from k8s4ai.api import accelerator, budget, gang
from k8s4ai.controllers import admission_budget
from k8s4ai.finops import allocation, ledger, pricing

MONTHS = {"monthly": 1, "quarterly": 3}


def period(spec: budget.BudgetSpec, now: datetime) -> tuple[datetime, datetime | None]:
    """[start, end) of the period `now` falls in (end None for a `total` budget). Periods are
    anchored at `spec.start` (midnight UTC), else at calendar boundaries: the day, the ISO
    week (Monday), the month, the quarter (January, April, July, October)."""
    anchor = spec.start
    if spec.period == "total":
        return (_midnight(anchor) if anchor else datetime.min.replace(tzinfo=UTC)), None
    if spec.period in ("daily", "weekly"):
        days = 1 if spec.period == "daily" else 7
        base = anchor or date(1970, 1, 5)  # a Monday
        elapsed = (now.astimezone(UTC).date() - base).days
        first = base + timedelta(days=elapsed - elapsed % days)
        return _midnight(first), _midnight(first + timedelta(days=days))
    step = MONTHS[spec.period]
    base = anchor or date(1970, 1, 1)
    months = (now.year - base.year) * 12 + now.month - base.month
    k = months - months % step
    start = _month_day(base, k)
    if start > now:
        k -= step
        start = _month_day(base, k)
    return start, _month_day(base, k + step)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _month_day(base: date, months: int) -> datetime:
    """`base` moved on by `months`, its day clamped to the month's length (a budget starting
    on the 31st renews on the last day of shorter months)."""
    index = base.year * 12 + base.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return _midnight(date(year, month + 1, min(base.day, last)))


def spent(
    b: budget.Budget, book: ledger.Ledger, prices: pricing.PriceBook, now: datetime
) -> float:
    """Dollars the budget's covered allocations cost from its period's start to `now`."""
    start, _ = period(b.spec, now)
    first = max(start.timestamp(), _earliest(book))
    if not now.timestamp() > first:
        return 0.0
    names = ("queue", *sorted(set(b.spec.selector) - {"queue"}))
    report = allocation.allocate(
        book, prices, allocation.Window(first, now.timestamp()), names
    )
    total = 0
    for line in report.lines:
        if allocation.IDLE in line.key:
            continue
        labels = {k: v for k, v in zip(names, line.key, strict=True) if v != allocation.UNALLOCATED}
        if admission_budget.covers(b, labels.get("queue", ""), labels):
            total += line.total
    return total / 100


def _earliest(book: ledger.Ledger) -> float:
    starts = [float(t.start.min()) for t in (book.allocations, book.assets) if len(t)]
    return min(starts, default=0.0)


def projected(
    g: gang.GangSchedulingGroup, gpus: float, accel: accelerator.AcceleratorClass | None
) -> float:
    """Dollars the job would cost if it held `gpus` GPUs of `accel` for its estimated
    duration."""
    duration = g.spec.estimated_duration
    if duration is None or accel is None or not gpus:
        return 0.0
    return gpus * accel.spec.price_per_hour * duration.seconds / pricing.SECONDS_PER_HOUR
