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


SIZE_CLASSES = (1.0, 4.0, 8.0)
"""Upper GPU counts of the job-size classes whose service distributions are learned apart."""


def size_class(gpus: float) -> int:
    return next((i for i, top in enumerate(SIZE_CLASSES) if gpus <= top), len(SIZE_CLASSES))


def service_grid(first: float = 60.0, step: float = 2.0, points: int = 32) -> np.ndarray:
    """Attained-service points (GPU-seconds) at which ranks may change: 1 GPU-minute up to
    ~4,000 GPU-years, doubling."""
    return np.asarray(first * step ** np.arange(points), dtype=np.float64)


@dataclass(slots=True)
class LearnedGittins:
    """The k8s4ai default (see the module docstring): serve the job with the highest Gittins
    index of its attained GPU-service, under the distribution of total service learned from
    the jobs of its size class that have already finished.

    The Gittins index of a job that has received `a` is the best, over how much more to
    give it, of (chance it finishes within that) / (expected service spent trying): it is
    the optimal duration-unaware rule for a single server (Gittins; Aalto et al.), behaves
    like least-attained-service where lengths are heavy-tailed and like
    shortest-remaining-first where they are not, and needs no thresholds to tune. Until a
    class has `min_samples` finished jobs, its jobs are ranked by attained service alone
    (plain LAS). The index only changes at grid points, so ranks are piecewise constant
    and the simulator needs a cycle only when a job crosses one.
    """

    name: str = "k8s4ai"
    strict_fifo: bool = False
    gang: bool = True
    preemptive: bool = True
    reserve: bool = True
    min_run_ratio: float = 4.0
    min_samples: int = 30
    grid: np.ndarray = field(default_factory=service_grid)
    _samples: dict[int, list[float]] = field(default_factory=dict)
    _tables: dict[int, tuple[int, list[float]]] = field(default_factory=dict)
    _points: list[float] = field(default_factory=list)

    def observe(self, job: workload.Job) -> None:
        if job.workload.gpus:
            cls = size_class(job.workload.gpus)
            self._samples.setdefault(cls, []).append(job.attained)

    def _table(self, cls: int) -> list[float] | None:
        """Index at each grid point, rebuilt when the class's history grew by an eighth."""
        samples = self._samples.get(cls, [])
        if len(samples) < self.min_samples:
            return None
        built = self._tables.get(cls)
        if built is not None and len(samples) < built[0] * 1.125:
            return built[1]
        table: list[float] = gittins_table(np.sort(np.asarray(samples)), self.grid).tolist()
        self._tables[cls] = (len(samples), table)
        return table

    def _point(self, attained: float) -> int:
        if not self._points:
            self._points = [float(x) for x in self.grid]
        return max(0, bisect.bisect_right(self._points, attained) - 1)

    def index(self, job: workload.Job, now: float) -> float:
        point = self._point(job.attained_at(now))
        table = self._table(size_class(job.workload.gpus))
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


def gittins_table(samples: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gittins index at each grid point `a` for jobs whose total service is drawn from the
    sorted `samples`: max over later grid points b of P(S <= b | S > a) / E[min(S, b) - a |
    S > a]. Points no sample lies beyond get NaN (no information)."""
    n = len(samples)
    prefix = np.concatenate(([0.0], np.cumsum(samples)))
    above = np.searchsorted(samples, grid, side="right")
    out = np.full(len(grid), np.nan)
    for i, a in enumerate(grid):
        lo = above[i]
        if lo >= n:
            continue
        his = above[i + 1 :]
        b = grid[i + 1 :]
        if not len(b):
            continue
        done = his - lo
        spent = (prefix[his] - prefix[lo]) - done * a + (n - his) * (b - a)
        ratio = np.where(spent > 0, done / np.maximum(spent, 1e-12), 0.0)
        out[i] = float(ratio.max())
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
