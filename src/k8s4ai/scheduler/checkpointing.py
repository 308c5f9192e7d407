"""What a CheckpointPolicy decides, as pure functions: how long to run between checkpoints,
whether a preemption notice leaves time to save, and which checkpoints to keep.

**`auto` intervals.** Young's first-order optimum (J. W. Young, "A first order approximation
to the optimum checkpoint interval", CACM 17(9), 1974; Daly, FGCS 22(3), 2006) balances the
time spent writing checkpoints against the work redone after a failure: τ = √(2·C·M) for a
checkpoint that takes C and a job whose mean time between failures is M. It is close to the
exact optimum while C ≪ M and drifts from it as C nears M (Daly gives higher-order terms).

**M is learnt, never configured.** Failures are counted per GPU-hour that jobs ran, across
the fleet, and a job on N GPUs sees M = MTBF per GPU ÷ N (a synchronous gang stops when any
of its GPUs, nodes or racks does). The estimate is the mean of a gamma posterior on the
failure rate: (prior failures + failures seen) ÷ (prior GPU-hours + GPU-hours run). The prior
is Meta's Llama 3 pre-training run: 419 unexpected interruptions in 54 days on 16,384 H100s
(Llama Team, "The Llama 3 Herd of Models", arXiv:2407.21783, 2024, §3.3.4), one every
~3.1 hours for the whole job, or one per 50,677 GPU-hours. It weighs as much as `PRIOR_WEIGHT`
failures: one failure's worth, so a cluster's own record outweighs it from its first few
failures on — clusters differ from Meta's by several times in either direction — while a
cluster that has seen nothing yet starts from a figure measured on real hardware.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from k8s4ai.api import checkpoint

HOUR = 3600.0

META_INTERRUPTIONS = 419
META_GPUS = 16_384
META_DAYS = 54
META_GPU_HOURS = META_GPUS * META_DAYS * 24.0
META_SOURCE = (
    "Llama Team, The Llama 3 Herd of Models, arXiv:2407.21783 (2024), §3.3.4: "
    "419 unexpected interruptions in 54 days on 16,384 H100 GPUs"
)
PRIOR_WEIGHT = 1.0
"""How many failures' worth of evidence the prior counts for (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class FailureRate:
    """Failures and the GPU-hours they happened in: the prior's pseudo-counts plus what was
    observed. Immutable, so a simulation and a controller can keep the history of estimates."""

    failures: float
    gpu_hours: float

    def __post_init__(self) -> None:
        if not (self.failures > 0 and self.gpu_hours > 0):
            raise ValueError(
                f"a failure rate needs positive failures and GPU-hours, not "
                f"{self.failures} in {self.gpu_hours}"
            )

    def observe(self, failures: int, gpu_hours: float) -> FailureRate:
        """The estimate after `failures` more failures in `gpu_hours` more GPU-hours run."""
        if failures < 0 or gpu_hours < 0:
            raise ValueError("failures and GPU-hours observed cannot be negative")
        return FailureRate(self.failures + failures, self.gpu_hours + gpu_hours)

    @property
    def per_gpu_hour(self) -> float:
        return self.failures / self.gpu_hours

    @property
    def gpu_mtbf(self) -> float:
        """Mean time between failures of one GPU, in seconds."""
        return self.gpu_hours / self.failures * HOUR

    def job_mtbf(self, gpus: int) -> float:
        """Mean time between failures of a gang on `gpus` GPUs, in seconds."""
        if gpus < 1:
            raise ValueError(f"a job runs on at least one GPU, not {gpus}")
        return self.gpu_mtbf / gpus


def meta_prior(weight: float = PRIOR_WEIGHT) -> FailureRate:
    """Meta's Llama 3 failure rate, weighing as much as `weight` observed failures."""
    return FailureRate(weight, weight * META_GPU_HOURS / META_INTERRUPTIONS)


def young_daly(cost: float, mtbf: float) -> float:
    """√(2·C·M): seconds of work between checkpoints that take `cost` seconds, for a job
    failing every `mtbf` seconds on average."""
    if cost < 0 or mtbf <= 0:
        raise ValueError(f"need a non-negative cost and a positive MTBF, not {cost}, {mtbf}")
    return math.sqrt(2.0 * cost * mtbf)


def interval(spec: checkpoint.CheckpointPolicySpec, gpus: int, seen: FailureRate) -> float | None:
    """Seconds of work before the next checkpoint of a job on `gpus` GPUs, given the failure
    rate `seen` so far; None when the policy never checkpoints (`resume: none` restarts from
    zero, so saving would be pure cost)."""
    if spec.resume == "none":
        return None
    if spec.interval == "auto":
        return young_daly(spec.checkpoint_duration.seconds, seen.job_mtbf(gpus))
    return spec.interval.seconds


def restore_seconds(spec: checkpoint.CheckpointPolicySpec) -> float:
    """From a failure to making progress again: the restart backoff, then reading the
    checkpoint back, taken to last as long as writing it."""
    reading = spec.checkpoint_duration.seconds if spec.resume == "latest" else 0.0
    return spec.restart_backoff.seconds + reading


def saves_on_notice(
    spec: checkpoint.CheckpointPolicySpec, writing_left: float | None = None
) -> bool:
    """Whether a job told it will be preempted keeps its progress: it must save before
    preemption, resume from checkpoints, and finish the save within the grace period — a
    whole checkpoint, or what is left of one already being written (`writing_left`)."""
    needed = spec.checkpoint_duration.seconds if writing_left is None else writing_left
    return (
        spec.before_preemption
        and spec.resume == "latest"
        and needed <= spec.preemption_grace_period.seconds
    )


def retained(saved: Sequence[float], retention: int) -> tuple[float, ...]:
    """The checkpoints kept (newest `retention` of `saved`, oldest first): a new one is
    written beside them and the oldest deleted only once it is complete, so a failure while
    writing always leaves the previous one to resume from."""
    if retention < 1:
        raise ValueError(f"retention keeps at least one checkpoint, not {retention}")
    return tuple(saved[-retention:])


def storage_needed(spec: checkpoint.CheckpointPolicySpec, checkpoint_bytes: int) -> int:
    """Bytes of checkpoint storage a job needs at its peak: the retained ones plus the one
    being written."""
    return (spec.retention + 1) * checkpoint_bytes
