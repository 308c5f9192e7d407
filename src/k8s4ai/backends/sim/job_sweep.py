"""Many job replays at once: every (trace, policy) of a comparison spread over worker
processes, with one progress stream. `k8s4ai sim jobs` and `bench/jobs.py` both run through
here, so their numbers come from the same code.

Traces arrive already converted (`Scenario`: jobs, cluster, queues); this layer does not read
files. Each worker receives the scenarios once, when it starts.
"""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import multiprocessing.queues
import queue
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

from k8s4ai.backends.sim import jobs as replay
from k8s4ai.scheduler.admission import policies, quota, workload

REPORT_STEP = 0.005
"""A worker reports a run's progress each time it advances by this fraction."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """A trace ready to replay: its jobs on a cluster with its queues."""

    name: str
    jobs: tuple[replay.ReplayJob, ...]
    cluster: replay.Cluster
    queues: tuple[quota.QueueQuota, ...]


@dataclass(frozen=True, slots=True)
class Run:
    scenario: str
    policy: str
    seed: int = 0
    checkpointing: workload.Checkpointing = field(default_factory=workload.Checkpointing)
    time_limit: float | None = None
    """CPU seconds after which the replay is abandoned: CPU, not wall time, so the limit means
    the same however busy the machine is."""


@dataclass(frozen=True, slots=True)
class Done:
    run: Run
    result: replay.ReplayResult | None
    """None when the run was abandoned at its time limit or failed."""
    wall_seconds: float
    cpu_seconds: float
    """CPU time of the replay's process: what it cost, whatever else shared the machine."""
    completed: int
    """Jobs completed (all of them unless abandoned or failed)."""
    total: int
    error: str | None = None
    """The exception that ended the replay, when one did."""

    @property
    def state(self) -> str:
        if self.error is not None:
            return f"FAILED with {self.error} after {self.completed:,} of {self.total:,} jobs"
        if self.result is None:
            return (
                f"ABANDONED at the time limit with {self.completed:,} of {self.total:,} jobs "
                "completed"
            )
        return "done"


class _TooLongError(Exception):
    pass


class _Timed:
    """The policy, with a look at the CPU clock every `EVERY` rankings, so a replay past its
    time limit stops even while no job completes (a policy swapping jobs back and forth)."""

    EVERY = 1000

    def __init__(self, policy: policies.Policy, deadline: float) -> None:
        self._policy = policy
        self._deadline = deadline
        self._calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._policy, name)

    def rank(self, job: workload.Job, now: float, share: float) -> policies.Rank:
        self._calls += 1
        if self._calls % self.EVERY == 0 and time.process_time() > self._deadline:
            raise _TooLongError
        return self._policy.rank(job, now, share)


@dataclass(frozen=True, slots=True)
class Progress:
    finished: int
    total: int
    fraction: float
    """Share of all the runs done, counting the finished part of runs still going."""
    done: Done | None = None
    """The run that just finished, when this update is one."""


Listener = Callable[[Progress], None]


def execute(scenario: Scenario, run: Run, report: Callable[[float], None] | None = None) -> Done:
    """One replay; `report(fraction)` follows its completed jobs. A run past its time limit,
    or one that raised, comes back without a result, saying how far it got."""
    last = [0.0]
    completed = [0]
    started, cpu = time.perf_counter(), time.process_time()

    def progress(finished: int, total: int) -> None:
        completed[0] = finished
        fraction = finished / total if total else 1.0
        if report is not None and (fraction - last[0] >= REPORT_STEP or finished == total):
            last[0] = fraction
            report(fraction)
        if run.time_limit is not None and time.process_time() - cpu > run.time_limit:
            raise _TooLongError

    total = len(scenario.jobs)
    result: replay.ReplayResult | None = None
    error: str | None = None
    policy = policies.get(run.policy)
    if run.time_limit is not None:
        policy = cast(policies.Policy, _Timed(policy, cpu + run.time_limit))
    try:
        result = replay.replay(
            scenario.jobs,
            scenario.cluster,
            scenario.queues,
            policy,
            run.seed,
            run.checkpointing,
            progress,
        )
    except _TooLongError:
        pass
    except Exception as err:  # a benchmark reports a broken replay instead of losing the rest
        error = f"{type(err).__name__}: {err}"
    return Done(
        run,
        result,
        time.perf_counter() - started,
        time.process_time() - cpu,
        completed[0] if result is None else len(result.outcomes),
        total,
        error,
    )


class _Tracker:
    def __init__(self, total: int, listener: Listener | None) -> None:
        self.fractions = [0.0] * total
        self.finished = 0
        self.listener = listener

    def advance(self, index: int, fraction: float, done: Done | None = None) -> None:
        self.fractions[index] = 1.0 if done is not None else fraction
        self.finished += done is not None
        if self.listener is not None:
            total = len(self.fractions)
            overall = sum(self.fractions) / total if total else 1.0
            self.listener(Progress(self.finished, total, overall, done))


def run_many(
    scenarios: Sequence[Scenario],
    runs: Sequence[Run],
    workers: int = 1,
    on_progress: Listener | None = None,
) -> list[Done]:
    """Every run, in `workers` processes (in this one for one worker or one run); results
    come back in the order of `runs`. Unknown scenarios or policies fail before any runs."""
    by_name = {s.name: s for s in scenarios}
    for run in runs:
        if run.scenario not in by_name:
            raise ValueError(f"no scenario named {run.scenario!r}")
        policies.get(run.policy)
    tracker = _Tracker(len(runs), on_progress)
    if workers <= 1 or len(runs) <= 1:
        finished = []
        for i, run in enumerate(runs):
            done = execute(by_name[run.scenario], run, functools.partial(tracker.advance, i))
            tracker.advance(i, 1.0, done)
            finished.append(done)
        return finished
    return _pooled(scenarios, runs, min(workers, len(runs)), tracker)


_Updates: TypeAlias = "multiprocessing.queues.Queue[tuple[int, float]]"

_scenarios: dict[str, Scenario] = {}
_updates: _Updates | None = None


def _init(scenarios: Sequence[Scenario], updates: _Updates) -> None:
    global _updates
    _scenarios.update((s.name, s) for s in scenarios)
    _updates = updates


def _work(index: int, run: Run) -> Done:
    def report(fraction: float) -> None:
        if _updates is not None:
            _updates.put((index, fraction))

    return execute(_scenarios[run.scenario], run, report)


def _pooled(
    scenarios: Sequence[Scenario], runs: Sequence[Run], workers: int, tracker: _Tracker
) -> list[Done]:
    context = multiprocessing.get_context()
    updates: _Updates = context.Queue()
    out: list[Done | None] = [None] * len(runs)
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, context, initializer=_init, initargs=(tuple(scenarios), updates)
    )
    try:
        waiting = {pool.submit(_work, i, run): i for i, run in enumerate(runs)}
        while waiting:
            ready, _ = concurrent.futures.wait(
                waiting, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED
            )
            while True:
                try:
                    index, fraction = updates.get_nowait()
                except queue.Empty:
                    break
                if out[index] is None:
                    tracker.advance(index, fraction)
            for future in ready:
                index = waiting.pop(future)
                done = out[index] = future.result()
                tracker.advance(index, 1.0, done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        updates.close()
        updates.join_thread()
    return [d for d in out if d is not None]
