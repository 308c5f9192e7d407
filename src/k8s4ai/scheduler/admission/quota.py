"""Quota accounting for queues in cohorts, after Kueue's ClusterQueue/Cohort model.

Each queue has, per resource key, a nominal quota, an optional borrowing limit (the most it
may use above nominal) and an optional lending limit (the most of its nominal the cohort may
use). The part of nominal it does not lend is guaranteed to it; everything else of the
cohort's nominal quotas forms a pool that members use beyond their guarantee. A job fits when
its queue stays within nominal and the pool holds; it borrows when it goes above nominal
(within the borrowing limit) and the pool still holds; a job within its queue's nominal whose
pool is used by borrowers fits only if they are preempted (reclaim). Keys a queue lists no
quota for are not limited. A GPU request of a class a queue lists no class quota for is
charged to its class-less GPU quota, if it has one.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from k8s4ai.scheduler.admission import workload

EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Limits:
    nominal: float
    borrowing_limit: float | None = None
    lending_limit: float | None = None

    @property
    def guaranteed(self) -> float:
        """What the queue never lends."""
        if self.lending_limit is None:
            return 0.0
        return max(0.0, self.nominal - self.lending_limit)


@dataclass(frozen=True, slots=True)
class QueueQuota:
    name: str
    cohort: str | None = None
    weight: float = 1.0
    limits: Mapping[workload.ResourceKey, Limits] = field(default_factory=dict)


class Mode(enum.IntEnum):
    """Ordered like Kueue's: a larger mode is a better fit."""

    NO_FIT = 0
    RECLAIM = 1
    """Fits within the queue's nominal quota once borrowers in its cohort are preempted."""
    BORROW = 2
    FIT = 3


@dataclass(frozen=True, slots=True)
class Check:
    mode: Mode
    key: workload.ResourceKey | None = None
    """The resource that decided a mode below FIT (None when every resource fits)."""
    message: str = ""


def describe_key(key: workload.ResourceKey) -> str:
    resource, cls = key
    return f"{resource} ({cls})" if cls else resource


class QuotaBook:
    """Usage per queue and key, and the checks admission asks of it. Charging and
    uncharging are exact inverses, so a what-if is undone by uncharging."""

    def __init__(self, queues: Iterable[QueueQuota]) -> None:
        self.queues = {q.name: q for q in queues}
        self.usage: dict[str, dict[workload.ResourceKey, float]] = {
            name: defaultdict(float) for name in self.queues
        }
        self._members: dict[str, list[str]] = defaultdict(list)
        for q in self.queues.values():
            if q.cohort is not None:
                self._members[q.cohort].append(q.name)

    def members(self, queue: str) -> list[str]:
        cohort = self.queues[queue].cohort
        return [queue] if cohort is None else self._members[cohort]

    def resolve(self, queue: str, key: workload.ResourceKey) -> workload.ResourceKey | None:
        """The quota key `key` is charged to in `queue`'s cohort, or None if unlimited."""
        keyed = {k for m in self.members(queue) for k in self.queues[m].limits}
        if key in keyed:
            return key
        generic = (key[0], None)
        return generic if generic in keyed else None

    def charged(self, queue: str, usage: workload.Usage) -> dict[workload.ResourceKey, float]:
        out: dict[workload.ResourceKey, float] = defaultdict(float)
        for key, amount in usage.items():
            resolved = self.resolve(queue, key)
            if resolved is not None:
                out[resolved] += amount
        return out

    def charge(self, queue: str, usage: workload.Usage, sign: float = 1.0) -> None:
        book = self.usage[queue]
        for key, amount in self.charged(queue, usage).items():
            book[key] += sign * amount
            if abs(book[key]) < EPSILON:
                book[key] = 0.0

    def uncharge(self, queue: str, usage: workload.Usage) -> None:
        self.charge(queue, usage, -1.0)

    def limits(self, queue: str, key: workload.ResourceKey) -> Limits:
        return self.queues[queue].limits.get(key, Limits(0.0))

    def pool(self, queue: str, key: workload.ResourceKey) -> tuple[float, float]:
        """(capacity, used) of the cohort's shared pool for `key`."""
        capacity = used = 0.0
        for member in self.members(queue):
            lim = self.limits(member, key)
            capacity += lim.nominal - lim.guaranteed
            used += max(0.0, self.usage[member][key] - lim.guaranteed)
        return capacity, used

    def borrowed(self, queue: str) -> dict[workload.ResourceKey, float]:
        """How far above nominal the queue is, per key."""
        out: dict[workload.ResourceKey, float] = {}
        for key, used in self.usage[queue].items():
            over = used - self.limits(queue, key).nominal
            if over > EPSILON:
                out[key] = over
        return out

    def is_borrowing(self, queue: str) -> bool:
        return bool(self.borrowed(queue))

    def check(self, queue: str, usage: workload.Usage) -> Check:
        worst = Check(Mode.FIT)
        for key, amount in self.charged(queue, usage).items():
            check = self._check_key(queue, key, amount)
            if check.mode < worst.mode:
                worst = check
            if worst.mode is Mode.NO_FIT:
                break
        return worst

    def _check_key(self, queue: str, key: workload.ResourceKey, amount: float) -> Check:
        lim = self.limits(queue, key)
        used = self.usage[queue][key]
        after = used + amount
        name = describe_key(key)
        if self.queues[queue].cohort is None:
            if after <= lim.nominal + EPSILON:
                return Check(Mode.FIT)
            return Check(
                Mode.NO_FIT,
                key,
                f"queue {queue} uses {used:g} of its {lim.nominal:g} {name}; "
                f"the job needs {amount:g} more",
            )
        over = after - lim.nominal
        if lim.borrowing_limit is not None and over > lim.borrowing_limit + EPSILON:
            return Check(
                Mode.NO_FIT,
                key,
                f"queue {queue} would borrow {over:g} {name}, above its borrowing limit "
                f"of {lim.borrowing_limit:g}",
            )
        capacity, pooled = self.pool(queue, key)
        pooled_after = pooled - max(0.0, used - lim.guaranteed) + max(0.0, after - lim.guaranteed)
        if pooled_after <= capacity + EPSILON:
            return Check(Mode.FIT if over <= EPSILON else Mode.BORROW, key)
        cohort = self.queues[queue].cohort
        if over <= EPSILON:
            return Check(
                Mode.RECLAIM,
                key,
                f"queue {queue} is within its nominal {lim.nominal:g} {name}, but cohort "
                f"{cohort}'s shared {name} is lent to other queues",
            )
        return Check(
            Mode.NO_FIT,
            key,
            f"queue {queue} is at its nominal {lim.nominal:g} {name} and cohort {cohort} "
            f"has {max(0.0, capacity - pooled):g} {name} left to lend; the job needs {amount:g}",
        )

    def share(self, queue: str, capacity: Mapping[workload.ResourceKey, float]) -> float:
        """Weighted dominant share: the queue's largest fraction of any resource's capacity,
        divided by its weight. Lower shares are served first under contention."""
        usage = self.usage.get(queue)
        if not usage:
            return 0.0
        fractions = [used / capacity[k] for k, used in usage.items() if capacity.get(k)]
        return max(fractions, default=0.0) / self.queues[queue].weight
