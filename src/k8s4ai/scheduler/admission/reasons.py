"""Why a job is not running, as a typed value: the scheduler writes it, `describe` and
`explain` read it. A kind says what would have to change; the message says it in numbers."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Kind(enum.StrEnum):
    QUOTA = "QuotaExceeded"
    """The queue (or its cohort) has no quota left for the job."""
    GANG_CANNOT_FIT = "GangCannotFit"
    """The cluster has fewer free GPUs than the gang needs."""
    FRAGMENTATION = "Fragmentation"
    """Enough GPUs are free in total, but not on nodes that can each hold a pod."""
    UNSCHEDULABLE = "Unschedulable"
    """No node could ever hold a pod (model, size or topology): waiting will not help."""
    PREEMPTED = "Preempted"
    """The job ran and was preempted by another."""
    WAITING_FOR_PREEMPTION = "WaitingForPreemption"
    """Victims have been told to checkpoint; the job starts when they are gone."""
    BLOCKED_BY_HEAD = "BlockedByHead"
    """An earlier job of the same queue waits first (strict FIFO or its reservation)."""
    PRIORITY = "LowerRank"
    """Jobs ranked ahead of it took the capacity it needs this cycle."""
    BUDGET = "BudgetExhausted"
    QUEUE_HELD = "QueueHeld"
    QUEUE_MISSING = "QueueNotFound"
    NOT_YET_ELIGIBLE = "Checkpointing"
    """Still saving its checkpoint after a preemption."""


@dataclass(frozen=True, slots=True)
class Reason:
    kind: Kind
    message: str
    plugin: str = "Admission"
    details: Mapping[str, float | str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"
