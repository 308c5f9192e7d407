"""Job replay: a trace's jobs arrive, wait, start as gangs, may be preempted and resumed,
and complete, on the same event kernel and admission cycle as the live scheduler.

A job of N GPUs becomes a gang of ⌈N/8⌉ pods of at most `gpus_per_node` GPUs each (the
remainder in the last pod), on a cluster of identical nodes. Preemption is priced by the
job's `Checkpointing`: a victim that saves on notice keeps its progress and frees its GPUs
after writing the checkpoint; one that cannot loses the work since its last periodic
checkpoint; every restart pays the restore time before making progress again. The oracle
policies (`sjf`, `srpt`) are told each job's duration; the others never see it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from k8s4ai.backends.sim import kernel
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import cycle, policies, quota, workload

ARRIVAL, COMPLETION, CYCLE = 0, 1, 2
"""Event priorities at one instant: arrivals and completions first, then one cycle."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ReplayJob:
    name: str
    submit: float
    duration: float
    gpus: int
    queue: str = "default"
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Cluster:
    nodes: int
    gpus_per_node: int = 8
    model: str = "gpu"

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    def specs(self) -> list[snapshot.NodeSpec]:
        return [
            snapshot.NodeSpec(f"node-{i:05d}", 128_000, 1_048_576, self.gpus_per_node, self.model)
            for i in range(self.nodes)
        ]


@dataclass(frozen=True, slots=True)
class JobOutcome:
    name: str
    queue: str
    gpus: int
    submit: float
    duration: float
    first_start: float
    finish: float
    preemptions: int
    lost: float
    """Seconds of progress lost to preemptions."""
    idle_held: float
    """GPU-seconds its pods held before the whole job could start (pod-by-pod only)."""
    held: tuple[tuple[float, float], ...] = ()
    """[start, end) of each run that held its GPUs: one, plus one per preemption (a victim
    holds them until its checkpoint is written); what cost accounting charges."""

    @property
    def jct(self) -> float:
        return self.finish - self.submit

    @property
    def queueing(self) -> float:
        return self.first_start - self.submit


@dataclass(frozen=True, slots=True)
class ReplayResult:
    policy: str
    cluster: Cluster
    outcomes: tuple[JobOutcome, ...]
    allocated: tuple[tuple[float, float], ...]
    """(time, GPUs held) at every change: a step function from 0 to the last completion."""
    skipped: tuple[str, ...]
    """Jobs larger than the whole cluster, never submitted."""
    unfinished: tuple[str, ...]
    cycles: int
    wall_seconds: float


def gang_pods(name: str, gpus: int, per_node: int) -> tuple[pods.PodRequest, ...]:
    count = math.ceil(gpus / per_node)
    sizes = [per_node] * (count - 1) + [gpus - per_node * (count - 1)]
    return tuple(
        pods.PodRequest(f"{name}-{i}", 1000, 1024, size, pods.MILLI) for i, size in enumerate(sizes)
    )


class _Replay:
    def __init__(
        self,
        jobs: Sequence[ReplayJob],
        cluster: Cluster,
        queues: Sequence[quota.QueueQuota],
        policy: policies.Policy,
        seed: int,
        checkpointing: workload.Checkpointing,
        progress: Progress | None,
    ) -> None:
        self.kernel = kernel.Kernel(seed)
        self.scheduler = cycle.Scheduler(cluster.specs(), queues, policy, self.kernel.rng)
        self.policy = policy
        self.cluster = cluster
        self.checkpointing = checkpointing
        self.progress = progress
        self.total = len(jobs)
        self.outcomes: list[JobOutcome] = []
        self.lost: dict[str, float] = {}
        self.runs: dict[str, list[tuple[float, float]]] = {}
        self.since: dict[str, float] = {}
        self.completions: dict[str, kernel.Handle] = {}
        self.cycle_at: set[float] = set()
        self.watch: dict[str, int] = {}
        self.allocated: list[tuple[float, float]] = [(0.0, 0.0)]
        self.cycles = 0
        self.skipped = [j.name for j in jobs if j.gpus > cluster.gpus]
        self.specs = {j.name: j for j in jobs}
        for job in jobs:
            if job.gpus <= cluster.gpus:
                self.kernel.at(job.submit, self._arrive(job), ARRIVAL)

    def _arrive(self, job: ReplayJob) -> kernel.Action:
        def arrive(k: kernel.Kernel) -> None:
            wl = workload.Workload(
                job.name,
                job.queue,
                gang_pods(job.name, job.gpus, self.cluster.gpus_per_node),
                priority=job.priority,
                submitted=job.submit,
                checkpointing=self.checkpointing,
            )
            self.scheduler.submit(wl, work=job.duration)
            self._request_cycle(k.now)

        return arrive

    def _request_cycle(self, at: float) -> None:
        if at not in self.cycle_at:
            self.cycle_at.add(at)
            self.kernel.at(at, self._cycle, CYCLE)

    def _cycle(self, k: kernel.Kernel) -> None:
        self.cycle_at.discard(k.now)
        if not self.scheduler.pending:
            return
        self.cycles += 1
        result = self.scheduler.cycle(k.now)
        for p in result.preempted:
            self.completions.pop(p.job.name).cancel()
            self.lost[p.job.name] = self.lost.get(p.job.name, 0.0) + p.lost
            began = self.since.pop(p.job.name)
            self.runs.setdefault(p.job.name, []).append((began, p.release_at))
            self._request_cycle(p.release_at)
        for a in result.admitted:
            job = a.job
            assert job.progress_from is not None and job.work is not None
            finish = job.progress_from + max(0.0, job.work - job.done)
            self.since[job.name] = k.now
            self.completions[job.name] = k.at(finish, self._complete(job.name), COMPLETION)
        for job in [a.job for a in result.admitted] + [p.job for p in result.preempted]:
            self._watch(job, k.now)
        self._record(k.now)

    def _watch(self, job: workload.Job, now: float) -> None:
        """Run a cycle when the job's rank next changes, and keep watching it while it stays
        in the phase it is in now (each admission or preemption starts a new watch)."""
        change = self.policy.next_change(job, now)
        if change is None or change <= now:
            return
        self.watch[job.name] = watch = self.watch.get(job.name, 0) + 1

        def tick(k: kernel.Kernel) -> None:
            if self.watch.get(job.name) != watch or job.phase is workload.Phase.FINISHED:
                return
            if job.phase is not workload.Phase.RUNNING or self.scheduler.outranked(job, k.now):
                self._request_cycle(k.now)
            self._watch(job, k.now)

        self.kernel.at(change, tick, ARRIVAL)

    def _complete(self, name: str) -> kernel.Action:
        def complete(k: kernel.Kernel) -> None:
            self.completions.pop(name, None)
            job = self.scheduler.finish(name, k.now)
            spec = self.specs[name]
            assert job.first_started is not None
            self.outcomes.append(
                JobOutcome(
                    name,
                    job.queue,
                    spec.gpus,
                    spec.submit,
                    spec.duration,
                    job.first_started,
                    k.now,
                    job.preemptions,
                    self.lost.get(name, 0.0),
                    job.idle_held,
                    (*self.runs.pop(name, ()), (self.since.pop(name), k.now)),
                )
            )
            del self.scheduler.jobs[name]
            self._record(k.now)
            self._request_cycle(k.now)
            if self.progress is not None:
                self.progress(len(self.outcomes), self.total)

        return complete

    def _record(self, now: float) -> None:
        held = self.scheduler.snap.allocated_gpu_milli / pods.MILLI
        if held != self.allocated[-1][1]:
            self.allocated.append((now, held))

    def run(self) -> ReplayResult:
        started = time.perf_counter()
        self.kernel.run()
        unfinished = tuple(sorted(self.scheduler.jobs))
        return ReplayResult(
            self.policy.name,
            self.cluster,
            tuple(sorted(self.outcomes, key=lambda o: (o.submit, o.name))),
            tuple(self.allocated),
            tuple(self.skipped),
            unfinished,
            self.cycles,
            time.perf_counter() - started,
        )


def replay(
    jobs: Sequence[ReplayJob],
    cluster: Cluster,
    queues: Sequence[quota.QueueQuota],
    policy: policies.Policy,
    seed: int = 0,
    checkpointing: workload.Checkpointing | None = None,
    progress: Progress | None = None,
) -> ReplayResult:
    """Replay `jobs` to completion. Every job's queue must be one of `queues`."""
    known = {q.name for q in queues}
    missing = sorted({j.queue for j in jobs} - known)
    if missing:
        raise ValueError(f"jobs name queue(s) not defined: {', '.join(missing)}")
    ckpt = checkpointing if checkpointing is not None else workload.Checkpointing()
    return _Replay(jobs, cluster, queues, policy, seed, ckpt, progress).run()


def single_queue(cluster: Cluster, name: str = "default") -> list[quota.QueueQuota]:
    """One queue owning the whole cluster: traces without teams."""
    return [quota.QueueQuota(name, limits={("gpu", None): quota.Limits(float(cluster.gpus))})]
