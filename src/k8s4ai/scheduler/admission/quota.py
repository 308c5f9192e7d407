"""Quota accounting for queues in cohorts, after Kueue's ClusterQueue/Cohort model.

Each queue has, per resource key, a nominal quota, an optional borrowing limit (the most it
may use above nominal) and an optional lending limit (the most of its nominal the cohort may
use). The part of nominal it does not lend is guaranteed to it; everything else of the
cohort's nominal quotas forms a pool that members use beyond their guarantee. A job fits when
its queue stays within nominal and the pool holds; it borrows when it goes above nominal
(within the borrowing limit) and the pool still holds; a job within its queue's nominal whose
pool is used by borrowers fits only if they are preempted (reclaim). A queue without a cohort
has its nominal quota and nothing more.

Which key a request is charged to, in this order: the key itself if the queue lists it; the
queue's class-less key for that resource (("gpu", None) for an H100 request); the key, then
the class-less key, if another queue of the cohort lists it (the queue's nominal there is 0,
so it can only borrow); otherwise the request is not limited.

Pool totals are kept per cohort and key as usage is charged, so a check costs the same
however many queues share the cohort.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from k8s4ai.scheduler.admission import workload

EPSILON = 1e-9
_DIGITS = 9
"""Usage is rounded to this many decimals after every change, so that charging and
uncharging stay exact inverses (requests are whole milli-units) and sums do not drift."""


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


_NONE = Limits(0.0)
_Pool = tuple[str, workload.ResourceKey]
"""(cohort, key); a queue without a cohort is its own cohort, named after it."""


class QuotaBook:
    """Usage per queue and key, and the checks admission asks of it. Charging and
    uncharging are exact inverses, so a what-if is undone by uncharging."""

    def __init__(self, queues: Iterable[QueueQuota]) -> None:
        self.queues = {q.name: q for q in queues}
        self.usage: dict[str, dict[workload.ResourceKey, float]] = {
            name: {} for name in self.queues
        }
        self._members: dict[str, list[str]] = {}
        for q in self.queues.values():
            if q.cohort is not None:
                self._members.setdefault(q.cohort, []).append(q.name)
        self._listed: dict[str, set[workload.ResourceKey]] = {}
        self._capacity: dict[_Pool, float] = {}
        self._pooled: dict[_Pool, float] = {}
        for name, q in self.queues.items():
            group = self._group(name)
            self._listed.setdefault(group, set()).update(q.limits)
            for key, lim in q.limits.items():
                pool = (group, key)
                self._capacity[pool] = self._capacity.get(pool, 0.0) + lim.nominal - lim.guaranteed
                self._pooled[pool] = 0.0
        self._over: dict[str, set[workload.ResourceKey]] = {name: set() for name in self.queues}
        self._resolved: dict[tuple[str, workload.ResourceKey], workload.ResourceKey | None] = {}

    def _group(self, queue: str) -> str:
        cohort = self.queues[queue].cohort
        return f"\0{queue}" if cohort is None else cohort

    def members(self, queue: str) -> list[str]:
        cohort = self.queues[queue].cohort
        return [queue] if cohort is None else self._members[cohort]

    def resolve(self, queue: str, key: workload.ResourceKey) -> workload.ResourceKey | None:
        """The quota key `key` is charged to in `queue` (see the module docstring), or None
        if it is not limited."""
        cached = (queue, key)
        if cached in self._resolved:
            return self._resolved[cached]
        generic = (key[0], None)
        own = self.queues[queue].limits
        cohort = self._listed[self._group(queue)]
        resolved: workload.ResourceKey | None = None
        for candidate, listed in ((key, own), (generic, own), (key, cohort), (generic, cohort)):
            if candidate in listed:
                resolved = candidate
                break
        self._resolved[cached] = resolved
        return resolved

    def charged(self, queue: str, usage: workload.Usage) -> dict[workload.ResourceKey, float]:
        out: dict[workload.ResourceKey, float] = {}
        for key, amount in usage.items():
            resolved = self.resolve(queue, key)
            if resolved is not None:
                out[resolved] = out.get(resolved, 0.0) + amount
        return out

    def charge(self, queue: str, usage: workload.Usage, sign: float = 1.0) -> None:
        book = self.usage[queue]
        group = self._group(queue)
        for key, amount in self.charged(queue, usage).items():
            lim = self.limits(queue, key)
            before = book.get(key, 0.0)
            after = round(before + sign * amount, _DIGITS)
            if abs(after) < EPSILON:
                after = 0.0
            book[key] = after
            pool = (group, key)
            delta = max(0.0, after - lim.guaranteed) - max(0.0, before - lim.guaranteed)
            self._pooled[pool] = round(self._pooled[pool] + delta, _DIGITS)
            if after - lim.nominal > EPSILON:
                self._over[queue].add(key)
            else:
                self._over[queue].discard(key)

    def uncharge(self, queue: str, usage: workload.Usage) -> None:
        self.charge(queue, usage, -1.0)

    def limits(self, queue: str, key: workload.ResourceKey) -> Limits:
        return self.queues[queue].limits.get(key, _NONE)

    def pool(self, queue: str, key: workload.ResourceKey) -> tuple[float, float]:
        """(capacity, used) of the cohort's shared pool for `key`."""
        pool = (self._group(queue), key)
        return self._capacity.get(pool, 0.0), self._pooled.get(pool, 0.0)

    def borrowed(self, queue: str) -> dict[workload.ResourceKey, float]:
        """How far above nominal the queue is, per key."""
        book = self.usage[queue]
        return {key: book[key] - self.limits(queue, key).nominal for key in self._over[queue]}

    def is_borrowing(self, queue: str) -> bool:
        return bool(self._over[queue])

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
        used = self.usage[queue].get(key, 0.0)
        after = used + amount
        name = describe_key(key)
        cohort = self.queues[queue].cohort
        if cohort is None:
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
            f"queue {queue} would use {after:g} of its nominal {lim.nominal:g} {name} and "
            f"cohort {cohort} has {max(0.0, capacity - pooled):g} {name} left to lend",
        )

    def share(self, queue: str, capacity: Mapping[workload.ResourceKey, float]) -> float:
        """Weighted dominant share: the queue's largest fraction of any resource's capacity,
        divided by its weight. Lower shares are served first under contention."""
        usage = self.usage.get(queue)
        if not usage:
            return 0.0
        fractions = [used / capacity[k] for k, used in usage.items() if capacity.get(k)]
        return max(fractions, default=0.0) / self.queues[queue].weight
