"""Gangs running under a CheckpointPolicy while their hardware fails: how many GPU-hours the
failures cost, and how much a checkpoint interval saves.

A gang is a synchronous job on its own GPUs, nodes and racks (never shared with another
gang): any failure among them stops all of it. It runs its `work` seconds of progress,
pausing every interval of progress to write a checkpoint, which takes the policy's
`checkpoint_duration` C. A failure loses the progress since the last completed checkpoint (a
checkpoint cut short by the failure does not count; with `resume: none`, everything); the
gang then waits for its failed units to be back (no wait when a spare replaces them) and
restarts, paying the restore time before it makes progress again. Its first start is free.

A preemption notice is served as `workload.Checkpointing` prices it in the job replay: a gang
that can save within the grace period (`checkpointing.saves_on_notice`) writes a checkpoint —
or finishes the one it is writing — and gives its GPUs back keeping its progress; one that
cannot stops at once and loses its unsaved progress. It restarts `back_after` later, paying
the restore time. A gang holding no GPUs (waiting for a repair or after a preemption)
ignores notices, and failures of its hardware then only delay its restart.

Lost GPU-hours are the GPU-hours a gang held minus the progress it kept: work redone,
checkpoint writes and restores, times its GPUs. Waiting for repairs or after a preemption
holds no GPUs and costs none.

`auto` is never told the failure rate: the simulator counts the failures that stop gangs and
the GPU-hours gangs held, and each interval is chosen from the estimate at that moment
(`checkpointing.FailureRate`, starting from its prior).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from k8s4ai.api import checkpoint
from k8s4ai.backends.sim import failures, kernel
from k8s4ai.scheduler import checkpointing

IntervalRule = Callable[[int, checkpointing.FailureRate], float | None]
"""(GPUs, failure rate seen so far) → seconds of work before the next checkpoint, or None."""


@dataclass(frozen=True, slots=True)
class Gang:
    name: str
    gpus: int
    work: float
    """Seconds of progress it needs, failure-free."""
    start: float = 0.0
    deadline: float | None = None
    """Given up on, unfinished, at this time (None: never)."""


@dataclass(frozen=True, slots=True)
class Preemption:
    gang: int
    """Index of the gang in the list simulated."""
    at: float
    back_after: float = 0.0
    """Seconds from giving its GPUs back to restarting."""


@dataclass(frozen=True, slots=True)
class Setup:
    policy: checkpoint.CheckpointPolicySpec
    hardware: failures.FailureModel | None = None
    """Random failures of each gang's GPUs, nodes and racks; None for none."""
    scripted: tuple[failures.Failure, ...] = ()
    """Failures at given times, `owner` being the gang's index."""
    preemptions: tuple[Preemption, ...] = ()
    prior: checkpointing.FailureRate = field(default_factory=checkpointing.meta_prior)
    restore: float | None = None
    """Seconds from a restart to progress; None: `checkpointing.restore_seconds(policy)`."""
    rule: IntervalRule | None = None
    """How intervals are chosen; None: `checkpointing.interval(policy, ...)`."""


@dataclass(frozen=True, slots=True)
class GangOutcome:
    name: str
    gpus: int
    work: float
    finished: bool
    end: float
    progress: float
    held: float
    """Seconds it held its GPUs."""
    redone: float
    checkpointing: float
    restoring: float
    failures: int
    preemptions: int
    checkpoints: int

    @property
    def lost(self) -> float:
        """Seconds held without keeping progress: redone + checkpointing + restoring."""
        return self.held - self.progress

    @property
    def lost_gpu_hours(self) -> float:
        return self.lost * self.gpus / checkpointing.HOUR


@dataclass(frozen=True, slots=True)
class Result:
    outcomes: tuple[GangOutcome, ...]
    seen: checkpointing.FailureRate
    """The failure-rate estimate at the end (prior plus what was observed)."""
    estimates: tuple[tuple[float, float], ...]
    """(time, estimated GPU MTBF in seconds) after each failure a gang saw."""
    events: int

    @property
    def lost_gpu_hours(self) -> float:
        return sum(o.lost_gpu_hours for o in self.outcomes)


class State(enum.Enum):
    WAITING = "Waiting"
    RUNNING = "Running"
    CHECKPOINTING = "Checkpointing"
    RESTORING = "Restoring"
    DONE = "Done"


HOLDING = frozenset({State.RUNNING, State.CHECKPOINTING, State.RESTORING})


@dataclass(slots=True)
class _Run:
    gang: Gang
    index: int
    state: State = State.WAITING
    since: float = 0.0
    held_since: float = 0.0
    progress: float = 0.0
    saved: tuple[float, ...] = ()
    held: float = 0.0
    redone: float = 0.0
    writing: float = 0.0
    restoring: float = 0.0
    failures: int = 0
    preemptions: int = 0
    checkpoints: int = 0
    repaired_at: float = 0.0
    leaving: Preemption | None = None
    handle: kernel.Handle | None = None
    finished: bool = False
    end: float = 0.0

    @property
    def last_saved(self) -> float:
        return self.saved[-1] if self.saved else 0.0

    def outcome(self) -> GangOutcome:
        g = self.gang
        return GangOutcome(
            g.name, g.gpus, g.work, self.finished, self.end, self.progress, self.held,
            self.redone, self.writing, self.restoring, self.failures, self.preemptions,
            self.checkpoints,
        )  # fmt: skip


T = TypeVar("T")
Step = Callable[[kernel.Kernel, T], None]


def _then(step: Step[T], subject: T) -> kernel.Action:
    return lambda k: step(k, subject)


class _Simulation:
    def __init__(self, gangs: Sequence[Gang], setup: Setup, rng: np.random.Generator) -> None:
        self.setup = setup
        spec = setup.policy
        self.cost = spec.checkpoint_duration.seconds
        self.restore = (
            checkpointing.restore_seconds(spec) if setup.restore is None else setup.restore
        )
        self.rule: IntervalRule = setup.rule or (
            lambda gpus, seen: checkpointing.interval(spec, gpus, seen)
        )
        self.kernel = kernel.Kernel(0)
        self.runs = [_Run(g, i) for i, g in enumerate(gangs)]
        self.holding = 0
        self.exposure = 0.0
        self.exposed_at = 0.0
        self.observed = 0
        self.estimates: list[tuple[float, float]] = []
        components = [
            c
            for run in self.runs
            for c in (setup.hardware.components(run.index, run.gang.gpus) if setup.hardware else [])
        ]
        self.injector = failures.Injector(components, rng, self._fail)
        k = self.kernel
        for run in self.runs:
            k.at(run.gang.start, _then(self._first, run))
            if run.gang.deadline is not None:
                k.at(run.gang.deadline, _then(self._give_up, run))
        for f in setup.scripted:
            k.at(f.at, _then(self._fail, f))
        for p in setup.preemptions:
            k.at(p.at, _then(self._notice, p))

    def seen(self, now: float) -> checkpointing.FailureRate:
        self._expose(now)
        return self.setup.prior.observe(self.observed, self.exposure)

    def _expose(self, now: float) -> None:
        self.exposure += self.holding * (now - self.exposed_at) / checkpointing.HOUR
        self.exposed_at = now

    # -- holding GPUs and time in each state ------------------------------------------------

    def _hold(self, run: _Run, now: float) -> None:
        self._expose(now)
        self.holding += run.gang.gpus
        run.held_since = now

    def _release(self, run: _Run, now: float, state: State = State.WAITING) -> None:
        self._expose(now)
        self.holding -= run.gang.gpus
        run.held += now - run.held_since
        run.state = state

    def _close(self, run: _Run, now: float) -> None:
        """Count the time spent in the current state up to `now`."""
        spent = now - run.since
        if run.state is State.RUNNING:
            run.progress += spent
        elif run.state is State.CHECKPOINTING:
            run.writing += spent
        elif run.state is State.RESTORING:
            run.restoring += spent
        run.since = now
        if run.handle is not None:
            run.handle.cancel()
            run.handle = None

    def _enter(self, run: _Run, state: State, now: float, until: float, then: Step[_Run]) -> None:
        run.state, run.since = state, now
        run.handle = self.kernel.at(until, _then(then, run))

    def _rollback(self, run: _Run) -> None:
        run.redone += run.progress - run.last_saved
        run.progress = run.last_saved

    # -- transitions ------------------------------------------------------------------------

    def _first(self, k: kernel.Kernel, run: _Run) -> None:
        if run.state is State.DONE:
            return
        self.injector.start(k, run.index)
        self._hold(run, k.now)
        self._go(k, run)

    def _go(self, k: kernel.Kernel, run: _Run) -> None:
        now = k.now
        if run.state is not State.WAITING:
            self._close(run, now)
        left = run.gang.work - run.progress
        tau = self.rule(run.gang.gpus, self.seen(now))
        if tau is not None and not tau > 0:
            raise ValueError(f"{run.gang.name}: checkpoint interval must be positive, not {tau}")
        due = None if tau is None else tau - (run.progress - run.last_saved)
        if due is None or left <= due:
            self._enter(run, State.RUNNING, now, now + left, self._finish)
        else:
            self._enter(run, State.RUNNING, now, now + due, self._write)

    def _write(self, k: kernel.Kernel, run: _Run) -> None:
        self._close(run, k.now)
        self._enter(run, State.CHECKPOINTING, k.now, k.now + self.cost, self._saved)

    def _saved(self, k: kernel.Kernel, run: _Run) -> None:
        self._close(run, k.now)
        run.saved = checkpointing.retained((*run.saved, run.progress), self.setup.policy.retention)
        run.checkpoints += 1
        if run.leaving is not None:
            self._leave(k, run)
        else:
            self._go(k, run)

    def _finish(self, k: kernel.Kernel, run: _Run) -> None:
        self._close(run, k.now)
        run.progress = run.gang.work
        self._release(run, k.now, State.DONE)
        run.finished, run.end = True, k.now
        self.injector.stop(run.index)

    def _give_up(self, k: kernel.Kernel, run: _Run) -> None:
        if run.state is State.DONE:
            return
        self._close(run, k.now)
        if run.state in HOLDING:
            self._release(run, k.now, State.DONE)
        run.state, run.end = State.DONE, k.now
        self.injector.stop(run.index)

    def _restart(self, k: kernel.Kernel, run: _Run) -> None:
        if run.state is not State.WAITING:
            return
        if run.repaired_at > k.now:
            k.at(run.repaired_at, _then(self._restart, run))
            return
        self._hold(run, k.now)
        self._enter(run, State.RESTORING, k.now, k.now + self.restore, self._go)

    def _leave(self, k: kernel.Kernel, run: _Run) -> None:
        """Give the GPUs back after a preemption and come back when it says."""
        assert run.leaving is not None
        back = run.leaving.back_after
        run.leaving = None
        self._release(run, k.now)
        k.after(back, _then(self._restart, run))

    def _fail(self, k: kernel.Kernel, failure: failures.Failure) -> None:
        run = self.runs[failure.owner]
        if run.state is State.DONE:
            return
        run.repaired_at = max(run.repaired_at, failure.back_at)
        if run.state not in HOLDING:
            return
        self.observed += 1
        self.estimates.append((k.now, self.seen(k.now).gpu_mtbf))
        run.failures += 1
        self._close(run, k.now)
        self._rollback(run)
        if run.leaving is not None:
            self._leave(k, run)
            return
        self._release(run, k.now)
        self._restart(k, run)

    def _notice(self, k: kernel.Kernel, p: Preemption) -> None:
        run = self.runs[p.gang]
        if run.state not in HOLDING or run.leaving is not None:
            return
        run.preemptions += 1
        run.leaving = p
        policy = self.setup.policy
        if run.state is State.RUNNING and checkpointing.saves_on_notice(policy):
            self._write(k, run)
            return
        left = run.since + self.cost - k.now
        if run.state is State.CHECKPOINTING and checkpointing.saves_on_notice(policy, left):
            return
        self._close(run, k.now)
        self._rollback(run)
        self._leave(k, run)

    def run(self) -> Result:
        self.kernel.run()
        return Result(
            tuple(r.outcome() for r in self.runs),
            self.seen(self.kernel.now),
            tuple(self.estimates),
            self.kernel.processed,
        )


def simulate(gangs: Sequence[Gang], setup: Setup, rng: np.random.Generator) -> Result:
    """Run every gang until it finishes or reaches its deadline. `rng` draws the hardware
    failures, and only them, so every policy meets the same failures for the same seed."""
    if any(g.gpus < 1 or g.work < 0 for g in gangs):
        raise ValueError("every gang needs at least one GPU and non-negative work")
    return _Simulation(gangs, setup, rng).run()
