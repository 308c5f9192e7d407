"""Many arrival experiments at once: every (pod list, policy, seed) of a comparison, spread
over worker processes, with one progress stream and per-policy means.

The CLI and the benchmarks both go through here, so a number printed by `k8s4ai sim` and one
in `bench/results/` come from the same code. Traces are loaded by the caller (this layer does
not read files) and handed to each worker once, when it starts, rather than with every run.
"""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import multiprocessing.queues
import queue
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from k8s4ai.backends.sim import fragmentation
from k8s4ai.scheduler import pods, registry, snapshot

ALL = "all"


@dataclass(frozen=True, slots=True)
class Workload:
    """A cluster and a pod list, named after the pod list (e.g. `openb_pod_list_default`)."""

    name: str
    nodes: tuple[snapshot.NodeSpec, ...]
    pods: tuple[pods.PodRequest, ...]


@dataclass(frozen=True, slots=True)
class Job:
    workload: str
    policy: str
    seed: int
    tune: float = 1.3


@dataclass(frozen=True, slots=True)
class Result:
    job: Job
    run: fragmentation.Run


@dataclass(frozen=True, slots=True)
class Progress:
    finished: int
    total: int
    fraction: float
    """Share of all the work done, counting the finished part of runs still going."""
    result: Result | None = None
    """The run that just finished, when this update is one."""


@dataclass(frozen=True, slots=True)
class Summary:
    """One policy on one pod list, over its seeds."""

    workload: str
    policy: str
    seeds: tuple[int, ...]
    allocation: float
    """Mean final allocation % (at 130 % arrived load for the published setting)."""
    allocation_std: float
    placed: float
    failed: float
    seconds: float
    """Mean wall time of one run."""
    attempts: int
    """Placement attempts (failures included) over all the runs."""
    curve: dict[int, float] = field(default_factory=dict)
    """Mean allocation % per arrived %."""

    @property
    def placements_per_second(self) -> float:
        total = self.seconds * len(self.seeds)
        return self.attempts / total if total else float("inf")


def parse_seeds(spec: str) -> tuple[int, ...]:
    """`42`, `42-51`, `1,3,5-7` → seeds in the order given, without repeats."""
    seeds: list[int] = []
    for part in spec.split(","):
        text = part.strip()
        first, sep, last = text.partition("-")
        try:
            low = int(first)
            high = int(last) if sep else low
        except ValueError:
            raise ValueError(
                f"{text!r} is not a seed or a range (examples: 42, 42-51, 1,3,5-7)"
            ) from None
        if high < low:
            raise ValueError(f"{text!r}: a range goes from low to high")
        seeds += [s for s in range(low, high + 1) if s not in seeds]
    return tuple(seeds)


def parse_policies(spec: str) -> tuple[str, ...]:
    """`all` (every registered policy, including ones added after this was written) or a
    comma-separated list; an unknown name raises `registry.UnknownPolicyError`."""
    names = [n.strip().lower() for n in spec.split(",") if n.strip()]
    if not names or names == [ALL]:
        return tuple(registry.POLICIES)
    for name in names:
        if name not in registry.POLICIES:
            raise registry.UnknownPolicyError(name)
    return tuple(dict.fromkeys(names))


def plan(
    workloads: Sequence[str], policies: Sequence[str], seeds: Sequence[int], tune: float = 1.3
) -> list[Job]:
    return [Job(w, p, s, tune) for w in workloads for p in policies for s in seeds]


def execute(workload: Workload, job: Job, report: Callable[[float], None] | None = None) -> Result:
    """One run; `report(fraction)` follows its pods."""

    def progress(done: int, total: int) -> None:
        if report is not None:
            report(done / total)

    run = fragmentation.run(workload.nodes, workload.pods, job.policy, job.seed, job.tune, progress)
    return Result(job, run)


class _Tracker:
    def __init__(self, total: int, listener: Callable[[Progress], None] | None) -> None:
        self._fractions = [0.0] * total
        self._finished: set[int] = set()
        self._listener = listener

    def advance(self, index: int, fraction: float) -> None:
        if index not in self._finished:
            self._fractions[index] = fraction
            self._emit(None)

    def finish(self, index: int, result: Result) -> None:
        self._fractions[index] = 1.0
        self._finished.add(index)
        self._emit(result)

    def _emit(self, result: Result | None) -> None:
        if self._listener is not None:
            total = len(self._fractions)
            done = sum(self._fractions) / total if total else 1.0
            self._listener(Progress(len(self._finished), total, done, result))


def run_many(
    workloads: Sequence[Workload],
    jobs: Sequence[Job],
    workers: int = 1,
    on_progress: Callable[[Progress], None] | None = None,
) -> list[Result]:
    """Every job, in `workers` processes (in this one for a single worker or job); results
    come back in the order of `jobs`."""
    by_name = {w.name: w for w in workloads}
    for job in jobs:
        if job.workload not in by_name:
            raise ValueError(f"no workload named {job.workload!r}")
        if job.policy not in registry.POLICIES:
            raise registry.UnknownPolicyError(job.policy)
    tracker = _Tracker(len(jobs), on_progress)
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for i, job in enumerate(jobs):
            result = execute(by_name[job.workload], job, functools.partial(tracker.advance, i))
            tracker.finish(i, result)
            results.append(result)
        return results
    return _in_processes(workloads, jobs, min(workers, len(jobs)), tracker)


_Updates: TypeAlias = "multiprocessing.queues.Queue[tuple[int, float]]"
"""(job index, fraction done) from the workers."""

# What each worker process holds, set once by `_start_worker`.
_worker_workloads: dict[str, Workload] = {}
_worker_updates: _Updates | None = None


def _start_worker(workloads: Sequence[Workload], updates: _Updates) -> None:
    global _worker_updates
    _worker_workloads.update((w.name, w) for w in workloads)
    _worker_updates = updates


def _in_worker(index: int, job: Job) -> Result:
    def report(fraction: float) -> None:
        if _worker_updates is not None:
            _worker_updates.put((index, fraction))

    return execute(_worker_workloads[job.workload], job, report)


def _in_processes(
    workloads: Sequence[Workload], jobs: Sequence[Job], workers: int, tracker: _Tracker
) -> list[Result]:
    context = multiprocessing.get_context()
    updates: _Updates = context.Queue()
    results: list[Result | None] = [None] * len(jobs)
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, context, initializer=_start_worker, initargs=(tuple(workloads), updates)
    )
    try:
        pending = {pool.submit(_in_worker, i, job): i for i, job in enumerate(jobs)}
        while pending:
            done, _ = concurrent.futures.wait(
                pending, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED
            )
            _drain(updates, tracker)
            for future in done:
                index = pending.pop(future)
                result = results[index] = future.result()
                tracker.finish(index, result)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        updates.close()
        updates.join_thread()
    return [r for r in results if r is not None]


def _drain(updates: _Updates, tracker: _Tracker) -> None:
    while True:
        try:
            index, fraction = updates.get_nowait()
        except queue.Empty:
            return
        tracker.advance(index, fraction)


def summarise(results: Sequence[Result]) -> list[Summary]:
    """Per (pod list, policy), in the order they first appear in `results`."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        groups.setdefault((result.job.workload, result.job.policy), []).append(result)
    return [_summary(workload, policy, group) for (workload, policy), group in groups.items()]


def _summary(workload: str, policy: str, group: Sequence[Result]) -> Summary:
    runs = [r.run for r in group]
    allocations = [r.final_allocation for r in runs]
    arrived = sorted({a for r in runs for a in r.curve})
    return Summary(
        workload=workload,
        policy=policy,
        seeds=tuple(r.seed for r in runs),
        allocation=statistics.fmean(allocations),
        allocation_std=statistics.stdev(allocations) if len(allocations) > 1 else 0.0,
        placed=statistics.fmean(r.placed for r in runs),
        failed=statistics.fmean(r.failed for r in runs),
        seconds=statistics.fmean(r.seconds for r in runs),
        attempts=sum(r.pods for r in runs),
        curve={
            a: round(statistics.fmean(r.curve[a] for r in runs if a in r.curve), 2) for a in arrived
        },
    )
