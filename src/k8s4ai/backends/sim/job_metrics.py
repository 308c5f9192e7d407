"""What a job replay achieved, as pure functions of its `ReplayResult`.

- **JCT** (finish − submit) and **queueing delay** (first start − submit): mean and p99 over
  the jobs that finished (linear-interpolated percentile).
- **GPU utilisation**: GPU-seconds held (the `allocated` step series, so GPUs held idle by a
  partly started job and a restart's restore time count) / (cluster GPUs × the period from
  the first submission to the last completion); also over the arrival window (first to last
  submission), where the load is what the trace offered; and *useful* utilisation, Σ gpus ×
  duration over the whole period.
- **Idle GPU-hours from partial starts**: Σ `idle_held` / 3600.
- **Preemptions** (count, and jobs preempted at least once) and **lost GPU-hours** (Σ gpus ×
  seconds of progress lost / 3600).
- **Fairness**: at every instant each queue is *entitled* to a weighted max-min fair share
  of the cluster's GPUs (water-filling over the queues by weight, each capped by its demand:
  the GPUs of its jobs submitted and not finished); it *receives* the GPUs its running jobs
  hold. Both are integrated over the period; a queue's share is received / entitled, and
  Jain's index over the shares of queues entitled to anything, (Σx)² / (n Σx²), is 1 when
  every queue got the same fraction of its entitlement. A job holds its GPUs from its first
  start to its finish; a preempted job's hold is spread evenly over that span at the rate
  its executed time implies (duration + lost over the span), since the result does not keep
  each run's interval — exact for jobs never preempted, an approximation for the others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from k8s4ai.backends.sim import jobs

_EPSILON = 1e-9
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class QueueShare:
    queue: str
    weight: float
    entitled: float
    """GPU-hours the queue was entitled to."""
    received: float
    """GPU-hours its running jobs held."""

    @property
    def ratio(self) -> float:
        return self.received / self.entitled if self.entitled > 0 else math.nan


@dataclass(frozen=True, slots=True)
class Metrics:
    policy: str
    jobs: int
    """Jobs that finished."""
    skipped: int
    unfinished: int
    cluster_gpus: int
    avg_jct: float
    p99_jct: float
    avg_queueing: float
    p99_queueing: float
    utilisation: float
    utilisation_arrivals: float
    useful_utilisation: float
    idle_gpu_hours: float
    preemptions: int
    preempted_jobs: int
    lost_gpu_hours: float
    shares: tuple[QueueShare, ...]
    jain: float
    makespan: float
    """Seconds from the first submission to the last completion."""
    cycles: int
    wall_seconds: float


def mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else math.nan


def held(allocated: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """∫ GPUs held dt over [start, end] of a step series of (time, GPUs held from then on)."""
    if end <= start or not allocated:
        return 0.0
    times = np.array([t for t, _ in allocated], dtype=float)
    values = np.array([v for _, v in allocated], dtype=float)
    edges = np.clip(np.append(times, max(end, times[-1])), start, end)
    return float(np.sum(values * np.diff(edges)))


def period(result: jobs.ReplayResult) -> tuple[float, float]:
    """(first submission, last completion) of the finished jobs."""
    if not result.outcomes:
        return 0.0, 0.0
    return min(o.submit for o in result.outcomes), max(o.finish for o in result.outcomes)


def utilisation(result: jobs.ReplayResult, start: float, end: float) -> float:
    capacity = result.cluster.gpus * (end - start)
    return held(result.allocated, start, end) / capacity if capacity > 0 else math.nan


def water_fill(capacity: np.ndarray, demand: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted max-min fair shares: row t splits `capacity[t]` over the columns by
    `weights`, none above its `demand[t, q]`, what a capped column leaves going to the
    others. `demand` is (T, Q), `capacity` (T,), `weights` (Q,) positive."""
    alloc = np.zeros_like(demand, dtype=float)
    remaining = capacity.astype(float).copy()
    for _ in range(demand.shape[1]):
        active = (demand - alloc > _EPSILON) & (remaining > _EPSILON)[:, None]
        if not active.any():
            break
        w = np.where(active, weights[None, :], 0.0)
        total = w.sum(axis=1)
        offer = np.divide(remaining, total, out=np.zeros_like(remaining), where=total > 0)
        give = np.minimum(w * offer[:, None], demand - alloc)
        give = np.where(active, give, 0.0)
        alloc += give
        remaining -= give.sum(axis=1)
    return alloc


def _steps(
    points: Sequence[tuple[float, int, float]], times: np.ndarray, queues: int
) -> np.ndarray:
    """(T, Q) levels on the segments starting at `times`, from (time, queue, delta) steps."""
    delta = np.zeros((len(times), queues))
    if points:
        at = np.searchsorted(times, [p[0] for p in points])
        columns = np.array([p[1] for p in points], dtype=np.intp)
        np.add.at(delta, (at, columns), np.array([p[2] for p in points]))
    return np.cumsum(delta, axis=0)


def shares(result: jobs.ReplayResult, weights: Mapping[str, float]) -> tuple[QueueShare, ...]:
    """Per queue, GPU-hours entitled (weighted max-min fair, capped by demand) and received
    over the replay (see the module docstring). Queues missing from `weights` weigh 1."""
    names = sorted({*weights, *(o.queue for o in result.outcomes)})
    if not result.outcomes:
        return tuple(QueueShare(q, weights.get(q, 1.0), 0.0, 0.0) for q in names)
    index = {q: i for i, q in enumerate(names)}
    demand_steps: list[tuple[float, int, float]] = []
    rate_steps: list[tuple[float, int, float]] = []
    for o in result.outcomes:
        q = index[o.queue]
        demand_steps += [(o.submit, q, o.gpus), (o.finish, q, -o.gpus)]
        span = o.finish - o.first_start
        if span > 0:
            rate = o.gpus * min(1.0, (o.duration + o.lost) / span) if o.preemptions else o.gpus
            rate_steps += [(o.first_start, q, rate), (o.finish, q, -rate)]
    times = np.unique([t for t, _, _ in demand_steps + rate_steps])
    dt = np.diff(times)
    demand = _steps(demand_steps, times, len(names))[:-1]
    received = _steps(rate_steps, times, len(names))[:-1]
    w = np.array([weights.get(q, 1.0) for q in names], dtype=float)
    entitled = water_fill(np.full(len(dt), float(result.cluster.gpus)), demand, w)
    return tuple(
        QueueShare(
            q, float(w[i]), float(entitled[:, i] @ dt) / HOUR, float(received[:, i] @ dt) / HOUR
        )
        for i, q in enumerate(names)
    )


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index, (Σx)² / (n Σx²): 1 when all are equal, 1/n at worst."""
    xs = np.array([v for v in values if not math.isnan(v)], dtype=float)
    if not len(xs) or not np.any(xs):
        return math.nan
    return float(xs.sum() ** 2 / (len(xs) * np.sum(xs**2)))


def summarise(result: jobs.ReplayResult, weights: Mapping[str, float] | None = None) -> Metrics:
    """Every metric of the module docstring for one replay; `weights` are the queues'
    fair-share weights (all 1 when None)."""
    done = result.outcomes
    start, end = period(result)
    last_submit = max((o.submit for o in done), default=start)
    fair = shares(result, weights or {})
    useful = sum(o.gpus * o.duration for o in done)
    capacity = result.cluster.gpus * (end - start)
    return Metrics(
        policy=result.policy,
        jobs=len(done),
        skipped=len(result.skipped),
        unfinished=len(result.unfinished),
        cluster_gpus=result.cluster.gpus,
        avg_jct=mean([o.jct for o in done]),
        p99_jct=percentile([o.jct for o in done], 99),
        avg_queueing=mean([o.queueing for o in done]),
        p99_queueing=percentile([o.queueing for o in done], 99),
        utilisation=utilisation(result, start, end),
        utilisation_arrivals=utilisation(result, start, last_submit),
        useful_utilisation=useful / capacity if capacity > 0 else math.nan,
        idle_gpu_hours=sum(o.idle_held for o in done) / HOUR,
        preemptions=sum(o.preemptions for o in done),
        preempted_jobs=sum(1 for o in done if o.preemptions),
        lost_gpu_hours=sum(o.gpus * o.lost for o in done) / HOUR,
        shares=fair,
        jain=jain([s.ratio for s in fair if s.entitled > 0]),
        makespan=end - start,
        cycles=result.cycles,
        wall_seconds=result.wall_seconds,
    )
