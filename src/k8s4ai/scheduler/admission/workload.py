"""What admission decides about: a job (gang) of pods charged to a queue, and its mutable
run state. The same objects serve the live scheduler and the simulator, so a policy sees
exactly the same thing in both."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from k8s4ai.scheduler import pods

ResourceKey = tuple[str, str | None]
"""(resource, accelerator class): ("gpu", "h100"), ("gpu", None) for any class, ("cpu", None)."""

Usage = Mapping[ResourceKey, float]


@dataclass(frozen=True, slots=True)
class Checkpointing:
    """How a job saves and resumes, in seconds: what a preemption costs it."""

    interval: float | None = 1800.0
    """Periodic checkpoint interval; None when the job never checkpoints on its own."""
    write: float = 60.0
    """Time one checkpoint takes to write."""
    restore: float = 60.0
    """Time from restart to making progress again (load checkpoint, warm up)."""
    before_preemption: bool = True
    """Whether the job saves a checkpoint when told it will be preempted."""
    grace: float = 300.0
    """Longest the scheduler waits for a victim to save before taking its GPUs."""

    def saves_on_notice(self) -> bool:
        return self.before_preemption and self.write <= self.grace


@dataclass(frozen=True, slots=True)
class Workload:
    """A job as admission sees it. `min_member` pods must start together (all when None);
    `accelerator_class` names the quota flavor its GPUs are charged to."""

    name: str
    queue: str
    pods: tuple[pods.PodRequest, ...]
    priority: int = 0
    min_member: int | None = None
    submitted: float = 0.0
    accelerator_class: str | None = None
    checkpointing: Checkpointing = field(default_factory=Checkpointing)
    _gpus: float = field(init=False, repr=False, compare=False)
    _usage: tuple[tuple[ResourceKey, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.pods:
            raise ValueError(f"{self.name}: a job needs at least one pod")
        if self.min_member is not None and not 1 <= self.min_member <= len(self.pods):
            raise ValueError(
                f"{self.name}: minMember {self.min_member} is not in 1..{len(self.pods)}"
            )
        # Computed once: every cycle asks for them for every pending and running job.
        gpus = sum(p.gpu_request_milli for p in self.pods) / pods.MILLI
        charged: list[tuple[ResourceKey, float]] = []
        if gpus:
            charged.append((("gpu", self.accelerator_class), gpus))
        cpu = sum(p.cpu_milli for p in self.pods) / 1000
        if cpu:
            charged.append((("cpu", None), cpu))
        memory = float(sum(p.memory_mib for p in self.pods))
        if memory:
            charged.append((("memory", None), memory))
        object.__setattr__(self, "_gpus", gpus)
        object.__setattr__(self, "_usage", tuple(charged))

    @property
    def gang_size(self) -> int:
        return len(self.pods) if self.min_member is None else self.min_member

    @property
    def gpus(self) -> float:
        return self._gpus

    def usage(self) -> dict[ResourceKey, float]:
        """What the job charges to its queue's quota: GPUs in its class, CPU cores, memory MiB."""
        return dict(self._usage)


class Phase(enum.Enum):
    PENDING = "Pending"
    RUNNING = "Running"
    DRAINING = "Draining"
    """Told it is preempted; saving a checkpoint before giving its GPUs back."""
    PARTIAL = "Partial"
    """Some pods placed, the rest waiting: only pod-by-pod scheduling gets here."""
    FINISHED = "Finished"


@dataclass(slots=True)
class Placed:
    """One pod on one node and its GPUs."""

    pod: pods.PodRequest
    node: int
    gpus: tuple[int, ...]
    at: float = 0.0


@dataclass(slots=True)
class Job:
    """A workload's run state. Service is counted in GPU-seconds (`attained`), which is what
    duration-unaware policies rank by; `work` and `done` are seconds of progress, known only
    to the simulator and to oracle policies."""

    workload: Workload
    phase: Phase = Phase.PENDING
    placed: list[Placed] = field(default_factory=list)
    attained: float = 0.0
    started: float | None = None
    """When the current run began (None while not running)."""
    progress_from: float | None = None
    """When the current run starts making progress: `started` plus restore time."""
    first_started: float | None = None
    eligible_at: float = 0.0
    """Not before: a preempted job is still saving its checkpoint until then."""
    service_base: float = 0.0
    """Attained service a policy has forgiven (Tiresias' promotion): levels count from here."""
    last_stopped: float | None = None
    last_ran: float = 0.0
    """Length of the most recent run, for policies that weigh waiting against running."""
    restarts: int = 0
    preemptions: int = 0
    idle_held: float = 0.0
    """GPU-seconds its pods held before the whole job could start (pod-by-pod only)."""
    work: float | None = None
    done: float = 0.0
    reason: object | None = None
    """The latest `reasons.Reason` this job was not admitted for."""

    @property
    def name(self) -> str:
        return self.workload.name

    @property
    def queue(self) -> str:
        return self.workload.queue

    def attained_at(self, now: float) -> float:
        if self.phase is Phase.RUNNING and self.started is not None:
            return self.attained + self.workload.gpus * max(0.0, now - self.started)
        return self.attained

    def remaining_at(self, now: float) -> float | None:
        """Seconds of progress still to make, if the work is known."""
        if self.work is None:
            return None
        return max(0.0, self.work - self.done_at(now))

    def done_at(self, now: float) -> float:
        if self.phase is Phase.RUNNING and self.progress_from is not None:
            return self.done + max(0.0, now - self.progress_from)
        return self.done

    def unsaved_at(self, now: float) -> float:
        """Seconds of progress a preemption now would lose: none if the job saves on notice,
        else its progress since its last periodic checkpoint (all of it if it never saves)."""
        ckpt = self.workload.checkpointing
        if ckpt.saves_on_notice() or self.started is None:
            return 0.0
        progress = self.done_at(now)
        if not ckpt.interval:
            return progress
        return progress - math.floor(progress / ckpt.interval) * ckpt.interval
