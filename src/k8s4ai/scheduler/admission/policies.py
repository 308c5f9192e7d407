"""Queueing policies: the order admission considers jobs in and whether that order may
preempt. Every policy ranks by priority first (a strictly higher priority always goes first
and may preempt within its queue); what follows priority is the policy.

The k8s4ai default, `k8s4ai`, does not know durations. It is a multi-level feedback queue
on attained GPU-service (GPU-seconds received so far): a job starts in the top level and
drops a level each time its service passes the next threshold, thresholds growing
geometrically. Ranking by least attained service is what makes it close to
shortest-remaining-first without knowing durations: on the heavy-tailed job lengths of real
clusters, a job that has run long is likely to run much longer, so the jobs that have
received little are, on average, the ones closest to done. Within a level, queues are served
by weighted dominant share and jobs first-come first-served. A job preempted for rank must
have run long enough in its current run for the preemption's cost (checkpoint, restore,
unsaved work) to be small against the service it received (`min_run_ratio`), so the same
jobs are not swapped back and forth.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from k8s4ai.scheduler.admission import workload

Rank = tuple[float, ...]


class Policy(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def gang(self) -> bool:
        """False for pod-by-pod scheduling: pods start as they fit, holding GPUs until the
        rest do."""
        ...

    @property
    def preemptive(self) -> bool:
        """Whether a better-ranked job may preempt a worse-ranked one of equal priority."""
        ...

    @property
    def strict_fifo(self) -> bool:
        """Whether a queue's head that cannot be admitted blocks the jobs behind it."""
        ...

    @property
    def reserve(self) -> bool:
        """Whether a blocked head holds the nodes it would fit on soonest against later
        jobs."""
        ...

    @property
    def min_run_ratio(self) -> float:
        """A job preempted for rank must have run this many times its preemption overhead in
        its current run (0: any running job may be preempted)."""
        ...

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        """Lower ranks go first. `share` is the job's queue's weighted dominant share."""
        ...

    def gain(self, job: workload.Job, now: float) -> float:
        """GPU-seconds starting `job` now is worth, against which victims' losses are weighed."""
        ...

    def next_change(self, job: workload.Job, now: float) -> float | None:
        """When a running job's rank next changes, so the simulator can run a cycle then."""
        ...


@dataclass(frozen=True, slots=True)
class Fifo:
    """Kueue's queueing strategies: StrictFIFO (`strict_fifo`) and BestEffortFIFO."""

    name: str = "besteffort-fifo"
    strict_fifo: bool = False
    gang: bool = True
    preemptive: bool = False
    reserve: bool = False
    min_run_ratio: float = 0.0

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        return (-job.workload.priority, job.workload.submitted)

    def gain(self, job: workload.Job, now: float) -> float:
        return math.inf

    def next_change(self, job: workload.Job, now: float) -> float | None:
        return None


@dataclass(frozen=True, slots=True)
class ShortestJobFirst:
    """Oracle: knows every job's duration and runs the least GPU-time first, without
    preemption."""

    name: str = "sjf"
    strict_fifo: bool = False
    gang: bool = True
    preemptive: bool = False
    reserve: bool = False
    min_run_ratio: float = 0.0

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        work = job.work if job.work is not None else math.inf
        return (-job.workload.priority, job.workload.gpus * work, job.workload.submitted)

    def gain(self, job: workload.Job, now: float) -> float:
        return math.inf

    def next_change(self, job: workload.Job, now: float) -> float | None:
        return None


@dataclass(frozen=True, slots=True)
class ShortestRemainingFirst:
    """Oracle: preemptive shortest remaining GPU-time (GPUs × remaining seconds) first."""

    name: str = "srpt"
    strict_fifo: bool = False
    gang: bool = True
    preemptive: bool = True
    reserve: bool = False
    min_run_ratio: float = 0.0

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        remaining = job.remaining_at(now)
        left = remaining if remaining is not None else math.inf
        return (-job.workload.priority, job.workload.gpus * left, job.workload.submitted)

    def gain(self, job: workload.Job, now: float) -> float:
        remaining = job.remaining_at(now)
        return math.inf if remaining is None else job.workload.gpus * remaining

    def next_change(self, job: workload.Job, now: float) -> float | None:
        return None


def level(attained: float, thresholds: Sequence[float]) -> int:
    for index, limit in enumerate(thresholds):
        if attained < limit:
            return index
    return len(thresholds)


def _next_threshold(job: workload.Job, now: float, thresholds: Sequence[float]) -> float | None:
    if job.phase is not workload.Phase.RUNNING or not job.workload.gpus:
        return None
    attained = job.attained_at(now)
    for limit in thresholds:
        if attained < limit:
            return now + (limit - attained) / job.workload.gpus
    return None


@dataclass(frozen=True, slots=True)
class TwoDimensionalLas:
    """Tiresias' discretised 2D-LAS (Gu et al., NSDI'19): queues by attained GPU-service
    (GPUs × executed time) with fixed thresholds, FIFO by arrival within a queue, a job
    moving down once its service passes its queue's threshold, and starvation avoided by
    promoting back to the top queue a job that has waited `promote_knob` times as long as it
    last ran."""

    name: str = "las2d"
    thresholds: tuple[float, ...] = (3600.0,)
    promote_knob: float = 8.0
    strict_fifo: bool = False
    gang: bool = True
    preemptive: bool = True
    reserve: bool = False
    min_run_ratio: float = 0.0

    def _level(self, job: workload.Job, now: float) -> int:
        lvl = level(job.attained_at(now), self.thresholds)
        if job.phase is workload.Phase.PENDING and job.attained > 0 and job.last_ran > 0:
            waited = now - job.last_stopped if job.last_stopped is not None else 0.0
            if waited >= self.promote_knob * job.last_ran:
                return 0
        return lvl

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        return (-job.workload.priority, self._level(job, now), job.workload.submitted)

    def gain(self, job: workload.Job, now: float) -> float:
        return math.inf

    def next_change(self, job: workload.Job, now: float) -> float | None:
        return _next_threshold(job, now, self.thresholds)


def geometric(base: float, factor: float, levels: int) -> tuple[float, ...]:
    return tuple(base * factor**k for k in range(levels - 1))


@dataclass(frozen=True, slots=True)
class FeedbackQueue:
    """The k8s4ai default (see the module docstring)."""

    name: str = "k8s4ai"
    thresholds: tuple[float, ...] = geometric(600.0, 4.0, 8)
    strict_fifo: bool = False
    gang: bool = True
    preemptive: bool = True
    reserve: bool = True
    min_run_ratio: float = 4.0

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        lvl = level(job.attained_at(now), self.thresholds)
        return (-job.workload.priority, lvl, share, job.workload.submitted)

    def gain(self, job: workload.Job, now: float) -> float:
        """The service the job receives before it next drops a level (at least the top
        level's quantum): what it is owed for outranking its victims."""
        attained = job.attained_at(now)
        lvl = level(attained, self.thresholds)
        quantum = self.thresholds[min(lvl, len(self.thresholds) - 1)] - attained
        return max(self.thresholds[0], quantum)

    def next_change(self, job: workload.Job, now: float) -> float | None:
        return _next_threshold(job, now, self.thresholds)


@dataclass(frozen=True, slots=True)
class PodByPod:
    """The Kubernetes default scheduler: no gangs, no queues' quotas, first come first
    served; each pod starts as soon as it fits and holds its GPUs until its job's last pod
    does."""

    name: str = "pod-by-pod"
    strict_fifo: bool = False
    gang: bool = False
    preemptive: bool = False
    reserve: bool = False
    min_run_ratio: float = 0.0

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        return (-job.workload.priority, job.workload.submitted)

    def gain(self, job: workload.Job, now: float) -> float:
        return math.inf

    def next_change(self, job: workload.Job, now: float) -> float | None:
        return None


POLICIES: dict[str, Callable[[], Policy]] = {
    "k8s4ai": FeedbackQueue,
    "pod-by-pod": PodByPod,
    "strict-fifo": lambda: Fifo(name="strict-fifo", strict_fifo=True),
    "besteffort-fifo": Fifo,
    "sjf": ShortestJobFirst,
    "srpt": ShortestRemainingFirst,
    "las2d": TwoDimensionalLas,
}
DEFAULT = "k8s4ai"
ORACLES = ("sjf", "srpt")
"""Policies that read job durations: bounds to compare against, not policies to run."""


class UnknownPolicyError(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown admission policy {name!r}; known: {', '.join(POLICIES)}")


def get(name: str) -> Policy:
    try:
        return POLICIES[name.lower()]()
    except KeyError:
        raise UnknownPolicyError(name) from None
