"""Queueing policies: the order admission considers jobs in and whether that order may
preempt. Every policy ranks by priority first (a strictly higher priority always goes first
and may preempt within its queue); what follows priority is the policy.

The k8s4ai default, `k8s4ai` (`LearnedGittins`), does not know durations. It ranks jobs by
the Gittins index of their attained GPU-service (GPU-seconds received so far) under the
distribution of total service it has seen jobs of the same size class finish with: a job
that has received little, in a class where most jobs finish soon after that point, goes
first. On the heavy-tailed job lengths of real clusters this is close to
shortest-remaining-first without knowing any duration; where a class's lengths cluster (many
jobs of one known length), it learns that too. Ties go to the queue with the lower weighted
dominant share, then to the earlier job. A job preempted for rank must have run at least
`min_run_ratio` times what the preemption costs it (checkpoint, restore, unsaved work): its
remaining run, which is what the preemptor would otherwise wait, is on such lengths about as
long as it has already run, so the preemption gains more than it loses, and the same jobs
are not swapped back and forth. `mlfq` is the same idea with fixed geometric levels instead
of learned indices.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

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

    def observe(self, job: workload.Job) -> None:
        """A job finished: policies that learn from history record it."""
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

    def observe(self, job: workload.Job) -> None:
        return None

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

    def observe(self, job: workload.Job) -> None:
        return None

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

    def observe(self, job: workload.Job) -> None:
        return None

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
    attained = job.attained_at(now) - job.service_base
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
    has run."""

    name: str = "las2d"
    thresholds: tuple[float, ...] = (3600.0,)
    promote_knob: float = 8.0
    strict_fifo: bool = False
    gang: bool = True
    preemptive: bool = True
    reserve: bool = False
    min_run_ratio: float = 0.0

    def _level(self, job: workload.Job, now: float) -> int:
        """A promoted job restarts at the top with its counted service reset, as in Tiresias;
        without the reset it would drop back at once and be preempted again."""
        waiting = job.phase is workload.Phase.PENDING and job.last_stopped is not None
        if waiting and now - (job.last_stopped or 0.0) >= self.promote_knob * self._executed(job):
            job.service_base = job.attained
        return level(job.attained_at(now) - job.service_base, self.thresholds)

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        return (-job.workload.priority, self._level(job, now), job.workload.submitted)

    def observe(self, job: workload.Job) -> None:
        return None

    def next_change(self, job: workload.Job, now: float) -> float | None:
        if job.phase is workload.Phase.PENDING and job.last_stopped is not None:
            promote = job.last_stopped + self.promote_knob * self._executed(job)
            return promote if promote > now and job.service_base < job.attained else None
        return _next_threshold(job, now, self.thresholds)

    @staticmethod
    def _executed(job: workload.Job) -> float:
        """Seconds the job has run since its last promotion, the measure Tiresias weighs
        waiting against."""
        served = job.attained - job.service_base
        return served / job.workload.gpus if job.workload.gpus else 0.0


def geometric(base: float, factor: float, levels: int) -> tuple[float, ...]:
    return tuple(base * factor**k for k in range(levels - 1))


@dataclass(frozen=True, slots=True)
class FeedbackQueue:
    """A multi-level feedback queue on attained GPU-service with fixed geometric levels."""

    name: str = "mlfq"
    thresholds: tuple[float, ...] = geometric(600.0, 4.0, 8)
    strict_fifo: bool = False
    gang: bool = True
    preemptive: bool = True
    reserve: bool = True
    min_run_ratio: float = 1.0

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        lvl = level(job.attained_at(now), self.thresholds)
        return (-job.workload.priority, lvl, share, job.workload.submitted)

    def observe(self, job: workload.Job) -> None:
        return None

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

    def observe(self, job: workload.Job) -> None:
        return None

    def next_change(self, job: workload.Job, now: float) -> float | None:
        return None


POOLED = -1
"""The learned history of all size classes together, used until a class has its own."""
SIZE_CLASSES = (1.0, 4.0, 8.0)
"""Upper GPU counts of the job-size classes whose service distributions are learned apart."""


def size_class(gpus: float) -> int:
    return next((i for i, top in enumerate(SIZE_CLASSES) if gpus <= top), len(SIZE_CLASSES))


def service_grid(first: float = 60.0, step: float = 2.0, points: int = 32) -> np.ndarray:
    """Attained-service points (GPU-seconds) at which ranks may change: 1 GPU-minute up to
    ~4,000 GPU-years, doubling. Finer steps help only when the distribution is known: with a
    learned one they let estimation noise reorder jobs (on ITP cluster 5, four steps per
    doubling raised the average JCT by half; with the trace's own distribution given in
    advance they lowered it by 7 %)."""
    return np.asarray(first * step ** np.arange(points), dtype=np.float64)


@dataclass(slots=True)
class LearnedGittins:
    """The k8s4ai default (see the module docstring): serve the job with the highest Gittins
    index of its attained GPU-service, under the distribution of total service learned from
    the jobs of its size class.

    The Gittins index of a job that has received `a` is the best, over how much more to
    give it, of (chance it finishes within that) / (expected service spent trying): it is
    the optimal duration-unaware rule for a single server (Gittins; Aalto et al.), behaves
    like least-attained-service where lengths are heavy-tailed and like
    shortest-remaining-first where they are not, and needs no thresholds to tune.

    The distribution is a Kaplan-Meier estimate over finished jobs and, as censored
    observations, the service of the jobs still alive. Learning from finished jobs alone
    feeds on itself: long jobs finish last, so the history says jobs are short, jobs past
    that length are ranked last and starve, and never finish to correct it (on ITP cluster 5
    this doubled the gap to SRPT). Until a class has `min_samples` finished jobs, its jobs
    are ranked by attained service alone (plain LAS). The index only changes at grid
    points, so ranks are piecewise constant and the simulator needs a cycle only when a job
    crosses one.
    """

    name: str = "k8s4ai"
    strict_fifo: bool = False
    gang: bool = True
    preemptive: bool = True
    reserve: bool = True
    min_run_ratio: float = 4.0
    min_samples: int = 30
    grid: np.ndarray = field(default_factory=service_grid)
    _finished: dict[int, list[float]] = field(default_factory=dict)
    _alive: dict[str, tuple[int, float]] = field(default_factory=dict)
    _tables: dict[int, tuple[int, list[float]]] = field(default_factory=dict)
    _points: list[float] = field(default_factory=list)

    def observe(self, job: workload.Job) -> None:
        self._alive.pop(job.name, None)
        if job.workload.gpus:
            for key in (size_class(job.workload.gpus), POOLED):
                self._finished.setdefault(key, []).append(job.attained)

    def _table(self, key: int) -> list[float] | None:
        """Index at each grid point for a size class (or all jobs pooled), rebuilt when its
        finished jobs grew by an eighth."""
        finished = self._finished.get(key, [])
        if len(finished) < self.min_samples:
            return None
        built = self._tables.get(key)
        if built is not None and len(finished) < built[0] * 1.125:
            return built[1]
        alive = [a for c, a in self._alive.values() if key in (POOLED, c)]
        service = np.asarray(finished + alive, dtype=np.float64)
        ended = np.concatenate((np.ones(len(finished), bool), np.zeros(len(alive), bool)))
        table: list[float] = gittins_table(service, ended, self.grid).tolist()
        self._tables[key] = (len(finished), table)
        return table

    def _point(self, attained: float) -> int:
        if not self._points:
            self._points = [float(x) for x in self.grid]
        return max(0, bisect.bisect_right(self._points, attained) - 1)

    def index(self, job: workload.Job, now: float) -> float:
        attained = job.attained_at(now)
        cls = size_class(job.workload.gpus)
        if job.workload.gpus:
            self._alive[job.name] = (cls, attained)
        point = self._point(attained)
        table = self._table(cls)
        if table is None:
            table = self._table(POOLED)
        value = math.nan if table is None else table[point]
        if math.isnan(value):
            return 1.0 / (self._points[point] + self._points[0])
        return value

    def rank(self, job: workload.Job, now: float, share: float) -> Rank:
        return (-job.workload.priority, -self.index(job, now), share, job.workload.submitted)

    def next_change(self, job: workload.Job, now: float) -> float | None:
        if job.phase is not workload.Phase.RUNNING or not job.workload.gpus:
            return None
        attained = job.attained_at(now)
        point = self._point(attained) + 1
        if point >= len(self.grid):
            return None
        return now + (self._points[point] - attained) / job.workload.gpus


def survival(
    service: np.ndarray, ended: np.ndarray, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate of P(S > x) at each grid point, and of its integral from 0 to
    each grid point. `ended[i]` says whether observation i is a job's total service (True)
    or only what a job still running has received so far (censored)."""
    order = np.argsort(service, kind="stable")
    s, e = service[order], ended[order]
    times, first = np.unique(s, return_index=True)
    at_risk = len(s) - first
    deaths = np.add.reduceat(e.astype(np.float64), first) if len(s) else np.zeros(0)
    keep = deaths > 0
    times, factor = times[keep], 1.0 - deaths[keep] / at_risk[keep]
    after = np.cumprod(factor)
    before = np.concatenate(([1.0], after[:-1]))
    area = np.concatenate(([0.0], np.cumsum(before * np.diff(times, prepend=0.0))))
    k = np.searchsorted(times, grid, side="right")
    levels = np.concatenate(([1.0], after))[k]
    starts = np.concatenate(([0.0], times))[k]
    return levels, area[k] + levels * (grid - starts)


def gittins_table(service: np.ndarray, ended: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gittins index at each grid point `a`: max over later grid points b of
    P(a < S <= b) / E[min(S, b) - a; S > a], under the Kaplan-Meier estimate of S's
    distribution (`survival`). NaN where nothing is known to finish beyond `a`."""
    above, area = survival(service, ended, grid)
    out = np.full(len(grid), np.nan)
    for i in range(len(grid) - 1):
        done = above[i] - above[i + 1 :]
        spent = area[i + 1 :] - area[i]
        ratio = np.where(spent > 0, done / np.maximum(spent, 1e-300), 0.0)
        best = float(ratio.max())
        if best > 0:
            out[i] = best
    return out


POLICIES: dict[str, Callable[[], Policy]] = {
    "k8s4ai": LearnedGittins,
    "mlfq": FeedbackQueue,
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
