"""How far a running gang of the live simulated cluster has got, from its status alone.

The live runtime keeps no per-job memory: a job's attempt is rebuilt on every pass from its
status (when it started, its last checkpoint and the progress saved there) and the work it
needs, so a restarted `k8s4ai up`, or a pass whose write lost a conflict, picks up where the
store says. Work is counted in cluster seconds and played `speed` times faster than the wall
clock: at 60×, an hour of training takes a real minute. Writing a checkpoint halts training
for `checkpointDuration` (as a synchronous save does), and resuming from one first takes the
policy's restart backoff and a read as long as the write (`checkpointing.restore_seconds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from k8s4ai.api import checkpoint, gang
from k8s4ai.scheduler import checkpointing

WORK = "sim.k8s4ai.io/work-seconds"
"""Annotation: cluster seconds of work the job needs on its GPUs (what the trace says it ran)."""


def work_seconds(g: gang.GangSchedulingGroup) -> float | None:
    """The work the simulated job needs: its annotation, else its estimated duration; None
    when neither says (the job runs until someone stops it)."""
    text = g.metadata.annotations.get(WORK)
    if text is not None:
        try:
            value = float(text)
        except ValueError:
            return None
        return value if math.isfinite(value) and value > 0 else None
    estimate = g.spec.estimated_duration
    return estimate.seconds if estimate is not None and estimate.seconds > 0 else None


def resumes(policy: checkpoint.CheckpointPolicy | None) -> bool:
    return policy is not None and policy.spec.resume == "latest"


def resume_point(g: gang.GangSchedulingGroup, policy: checkpoint.CheckpointPolicy | None) -> float:
    """Progress a new attempt starts from: the last checkpoint, when the policy resumes."""
    return (g.status.checkpoint_progress or 0.0) if resumes(policy) else 0.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One run of a job, in wall-clock seconds: progress grows by `rate` per second from
    `progress` at `since` (after any restore or checkpoint write), with a checkpoint every
    `interval` seconds of training that stalls it for `stall` seconds."""

    since: float
    progress: float
    rate: float
    interval: float | None
    stall: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where an attempt is at a moment: its progress, the last checkpoint it wrote on the way
    (time, progress), and when it finished or hit `fail_at` (progress), if it did."""

    progress: float
    checkpoint: tuple[float, float] | None = None
    finished: float | None = None
    failed: float | None = None


def seconds(moment: datetime) -> float:
    return moment.timestamp()


def moment(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def attempt(
    g: gang.GangSchedulingGroup,
    policy: checkpoint.CheckpointPolicy | None,
    speed: float,
    failures: checkpointing.FailureRate,
) -> Attempt | None:
    """The running attempt of `g` as its status describes it; None when its work is unknown
    or it has not started."""
    work, started = work_seconds(g), g.status.start_time
    if work is None or started is None:
        return None
    spec = policy.spec if policy is not None else None
    interval = None
    stall = 0.0
    if spec is not None:
        gpus = max(1, math.ceil(g.spec.total_gpus()))
        every = checkpointing.interval(spec, gpus, failures)
        interval = None if every is None else every / speed
        stall = spec.checkpoint_duration.seconds / speed
    saved = g.status.last_checkpoint_time
    if spec is not None and saved is not None and saved >= started:
        since = seconds(saved) + stall
        progress = g.status.checkpoint_progress or 0.0
    else:
        progress = resume_point(g, policy)
        since = seconds(started)
        if spec is not None and progress > 0:
            since += checkpointing.restore_seconds(spec) / speed
    return Attempt(since, progress, speed / work, interval, stall)


def advance(run: Attempt, now: float, fail_time: float | None = None) -> Outcome:
    """The attempt at `now`: checkpoints written in between (the latest is reported), and
    whether it finished or reached `fail_time` first. Pure, so a coarse step (the warm-up's)
    and many fine ones end in the same state."""
    since, progress, last = run.since, run.progress, None
    fail = math.inf if fail_time is None else fail_time
    while True:
        finish = since + (1.0 - progress) / run.rate
        save = since + run.interval if run.interval else math.inf
        first = min(finish, fail, save)
        if first > now:
            grown = progress + run.rate * max(0.0, now - since)
            return Outcome(min(grown, 1.0), last)
        if fail <= min(finish, save):
            reached = progress + run.rate * max(0.0, fail - since)
            return Outcome(reached, last, failed=fail)
        if finish <= save:
            return Outcome(1.0, last, finished=finish)
        progress += run.rate * (save - since)
        last = (save, progress)
        since = save + run.stall
