"""The room a duration-unaware policy has on a trace: a pooled-GPU replay.

The cluster is one pool of GPUs (no nodes, so no packing), preemption is free and instant,
and a job runs when its whole GPU count is free. On this model the queueing policies that
issue 4 compares can be run in seconds on a whole trace:

- `fifo`: best-effort FIFO, never preempting (Kueue's BestEffortFIFO; backfill allowed);
- `srpt`: preemptive shortest remaining GPU-time first, knowing every duration (the oracle);
- `las`: least attained GPU-service first, by doubling levels (a multi-level feedback queue);
- `gittins`: the Gittins index of attained GPU-service under each size class's distribution
  of total service *taken from the whole trace in advance*: no learner can know more without
  reading durations, and on a single server this rule is the optimal duration-unaware one
  (Gittins 1989; Scully et al., SIGMETRICS 2020, for M/G/k near-optimality).

So `gittins / srpt` estimates how close to the oracle any duration-unaware policy can come,
and `fifo / srpt` bounds how far below FIFO anything can go. The detailed replay
(`backends.sim.jobs`) adds nodes, gangs and checkpoint costs; on the traces checked, its
FIFO and SRPT averages are within a few percent of this model's.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from k8s4ai.scheduler.admission import policies

POLICIES = ("fifo", "srpt", "las", "gittins")
GITTINS_GRID = policies.service_grid(step=2.0**0.25, points=128)
"""Four rank points per doubling: the distribution is known, so finer is better."""
LAS_GRID = policies.service_grid()


@dataclass(frozen=True, slots=True)
class PooledJob:
    submit: float
    duration: float
    gpus: int


Key = Callable[[int, float], tuple[float, ...]]
"""(job, attained GPU-service) → rank; lower runs first."""


def replay(jobs: Sequence[PooledJob], gpus: int, policy: str) -> np.ndarray:
    """Each job's completion time minus its submission (seconds), in the order given."""
    if policy not in POLICIES:
        raise ValueError(f"unknown pooled policy {policy!r}; known: {', '.join(POLICIES)}")
    too_big = [i for i, j in enumerate(jobs) if j.gpus > gpus or j.gpus < 1]
    if too_big:
        raise ValueError(f"job {too_big[0]} asks for {jobs[too_big[0]].gpus} of {gpus} GPUs")
    return _Pool(jobs, gpus, policy).run()


class _Pool:
    def __init__(self, jobs: Sequence[PooledJob], gpus: int, policy: str) -> None:
        self.jobs = jobs
        self.gpus = gpus
        self.policy = policy
        self.remaining = [max(j.duration, 0.0) for j in jobs]
        self.attained = [0.0] * len(jobs)
        self.key: Key
        self.grid: list[float] = []
        if policy == "fifo":
            self.key = lambda i, a: (jobs[i].submit, i)
        elif policy == "srpt":
            self.key = lambda i, a: (jobs[i].gpus * self.remaining[i], jobs[i].submit, i)
        elif policy == "las":
            self.grid = [float(x) for x in LAS_GRID]
            self.key = lambda i, a: (self._level(a), jobs[i].submit, i)
        else:
            self.grid = [float(x) for x in GITTINS_GRID]
            tables = _gittins_tables(jobs, GITTINS_GRID)
            self.key = lambda i, a: (
                -tables[policies.size_class(jobs[i].gpus)][self._level(a)],
                jobs[i].submit,
                i,
            )

    def _level(self, service: float) -> int:
        return max(0, bisect.bisect_right(self.grid, service) - 1)

    def _next_level(self, i: int) -> float:
        """Seconds until job i's attained GPU-service crosses the next grid point."""
        service = self.jobs[i].gpus * self.attained[i]
        level = self._level(service) + 1
        if level >= len(self.grid):
            return math.inf
        return (self.grid[level] - service) / self.jobs[i].gpus

    def _choose(self, active: list[int], running: set[int]) -> set[int]:
        jobs = self.jobs
        chosen = set(running) if self.policy == "fifo" else set()
        free = self.gpus - sum(jobs[i].gpus for i in chosen)
        smallest = min((jobs[i].gpus for i in active), default=0)
        for i in sorted(active, key=lambda i: self.key(i, jobs[i].gpus * self.attained[i])):
            if free < smallest:
                break
            if i not in chosen and jobs[i].gpus <= free:
                chosen.add(i)
                free -= jobs[i].gpus
        return chosen

    def run(self) -> np.ndarray:
        jobs = self.jobs
        arrivals = [(j.submit, i) for i, j in enumerate(jobs)]
        heapq.heapify(arrivals)
        finish = np.full(len(jobs), np.nan)
        active: list[int] = []
        running: set[int] = set()
        now = arrivals[0][0] if arrivals else 0.0
        while arrivals or active:
            while arrivals and arrivals[0][0] <= now:
                active.append(heapq.heappop(arrivals)[1])
            running = self._choose(active, running)
            step = arrivals[0][0] - now if arrivals else math.inf
            for i in running:
                step = min(step, self.remaining[i])
                if self.grid:
                    step = min(step, self._next_level(i))
            step = max(step, 0.0)
            now += step
            ended = []
            for i in running:
                self.remaining[i] -= step
                self.attained[i] += step
                if self.remaining[i] <= 1e-6 * max(1.0, jobs[i].duration):
                    ended.append(i)
            for i in ended:
                finish[i] = now
                running.discard(i)
                active.remove(i)
        submits: np.ndarray = np.array([j.submit for j in jobs], dtype=np.float64)
        jct: np.ndarray = finish - submits
        return jct


def _gittins_tables(jobs: Sequence[PooledJob], grid: np.ndarray) -> dict[int, list[float]]:
    """Per size class, the index at each grid point under the class's own distribution of
    GPU-service in the trace; LAS-like (1 / service) where nothing is known beyond."""
    by_class: dict[int, list[float]] = {}
    for j in jobs:
        by_class.setdefault(policies.size_class(j.gpus), []).append(j.gpus * j.duration)
    tables = {}
    for cls, service in by_class.items():
        values = np.asarray(service)
        index = policies.gittins_table(values, np.ones(len(values), bool), grid)
        fallback = 1.0 / (grid + grid[0])
        tables[cls] = np.where(np.isnan(index), fallback, index).tolist()
    return tables
