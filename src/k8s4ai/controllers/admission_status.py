"""What one admission cycle means for each object's status: a gang's phase, assignments and
`Admitted`/`Preempted` conditions, a queue's counts and usage. Times in the core are float
seconds; here they become the timestamps and sentences a person reads."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from k8s4ai.api import gang, meta, queue
from k8s4ai.api.units import Quantity
from k8s4ai.controllers import admission_convert, conditions
from k8s4ai.scheduler.admission import cycle, quota, reasons, workload

MANAGED = ("Admitted", "Preempted")
"""Condition types admission owns on a gang; others are kept as they are."""

CAUSES = {
    "priority": ("HigherPriority", "a higher-priority job of its queue"),
    "reclaim": ("Reclaim", "its cohort reclaiming the quota it borrowed"),
    "rank": ("FairShare", "a job the policy ranks ahead of it"),
}


def when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def iso(seconds: float) -> str:
    return when(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def number(value: float) -> str:
    """A quantity's text without exponent or float noise: 8, 0.25, 1.333."""
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def memory(mib: float) -> str:
    for suffix, size in (("Ti", 2**20), ("Gi", 2**10)):
        if mib >= size and mib % size == 0:
            return f"{int(mib // size)}{suffix}"
    return f"{number(mib)}Mi" if mib else "0"


def nodes_text(nodes: list[str]) -> str:
    """`a, b ×3`: each node once, with how many of the pods it holds."""
    counts = Counter(nodes)
    return ", ".join(n if counts[n] == 1 else f"{n} ×{counts[n]}" for n in counts)


def assignments(
    job: workload.Job, g: gang.GangSchedulingGroup, node_names: list[str]
) -> list[gang.PodSetAssignment]:
    """Nodes per pod set, in pod order (a node appears once per pod it holds)."""
    rows: dict[str, list[tuple[int, str]]] = {}
    for p in job.placed:
        pod_set, index = admission_convert.pod_set_of(p.pod)
        rows.setdefault(pod_set, []).append((index, node_names[p.node]))
    return [
        gang.PodSetAssignment(
            name=ps.name,
            nodes=[name for _, name in sorted(rows[ps.name])],
            accelerator_class=job.workload.accelerator_class,
        )
        for ps in g.spec.pod_sets
        if ps.name in rows
    ]


def _with(
    g: gang.GangSchedulingGroup, managed: list[meta.Condition], **fields: object
) -> gang.GangSchedulingGroupStatus:
    kept = [c for c in g.status.conditions if c.type not in MANAGED]
    new = conditions.keep_transition_time(g.status.conditions, managed)
    update = {
        "queue": g.spec.queue,
        "observed_generation": g.metadata.generation,
        "conditions": [*kept, *new],
        **fields,
    }
    return g.status.model_copy(update=update)


def admitted(
    g: gang.GangSchedulingGroup, adm: cycle.Admitted, node_names: list[str], now: datetime
) -> tuple[gang.GangSchedulingGroupStatus, str]:
    placed = assignments(adm.job, g, node_names)
    where = "; ".join(f"{a.name} on {nodes_text(a.nodes)}" for a in placed)
    message = f"admitted to queue {g.spec.queue}: {where}"
    if adm.victims:
        message += f"; preempted {', '.join(adm.victims)}"
    if adm.start_at > now.timestamp():
        message += f"; starts at {iso(adm.start_at)}, once they have saved their checkpoints"
    cond = conditions.condition("Admitted", True, "Admitted", message, g.metadata.generation, now)
    status = _with(g, [cond], phase="Admitted", assignments=placed, start_time=when(adm.start_at))
    return status, message


def preempted(
    g: gang.GangSchedulingGroup, pre: cycle.Preempted, now: datetime
) -> tuple[gang.GangSchedulingGroupStatus, str]:
    reason, why = CAUSES.get(pre.cause, (pre.cause.title().replace("-", ""), pre.cause))
    message = f"preempted by {pre.by} ({why}) at {iso(now.timestamp())}; lost {pre.lost:g}s of work"
    if pre.release_at > now.timestamp():
        message += f"; saving a checkpoint until {iso(pre.release_at)}"
    generation = g.metadata.generation
    managed = [
        conditions.condition("Admitted", False, reasons.Kind.PREEMPTED, message, generation, now),
        conditions.condition("Preempted", True, reason, message, generation, now),
    ]
    saved = when(pre.release_at) if pre.job.workload.checkpointing.saves_on_notice() else None
    status = _with(
        g,
        managed,
        phase="Preempted",
        assignments=[],
        start_time=None,
        restarts=pre.job.restarts,
        last_checkpoint_time=saved or g.status.last_checkpoint_time,
    )
    return status, message


def describe(reason: reasons.Reason, job: workload.Job) -> str:
    """The reason's message, with the core's float times as timestamps."""
    if reason.kind is reasons.Kind.NOT_YET_ELIGIBLE:
        return f"saving its checkpoint after a preemption until {iso(job.eligible_at)}"
    return reason.message


def pending(
    g: gang.GangSchedulingGroup, kind: str, message: str, now: datetime
) -> gang.GangSchedulingGroupStatus:
    """Waiting: a job preempted earlier stays `Preempted` (with that condition) until it is
    admitted again."""
    generation = g.metadata.generation
    managed = [conditions.condition("Admitted", False, kind, message, generation, now)]
    phase = "Preempted" if g.status.phase == "Preempted" else "Pending"
    earlier = g.status.condition("Preempted")
    if phase == "Preempted" and earlier is not None:
        managed.append(earlier)
    return _with(g, managed, phase=phase, assignments=[], start_time=None)


def _usage(book: quota.QuotaBook, q: queue.Queue) -> list[queue.ResourceUsage]:
    name = q.metadata.name
    used = book.usage.get(name, {})
    borrowed = book.borrowed(name) if name in book.queues else {}
    keys: list[workload.ResourceKey] = [
        (r.resource, r.accelerator_class) for r in q.spec.quotas if r.resource != "vram"
    ]
    keys += sorted((k for k in used if k not in keys), key=lambda k: (k[0], k[1] or ""))
    out = []
    for key in keys:
        text = memory if key[0] == "memory" else number
        over = borrowed.get(key)
        out.append(
            queue.ResourceUsage(
                resource=key[0],
                accelerator_class=key[1],
                used=Quantity(text(used.get(key, 0.0))),
                borrowed=Quantity(text(over)) if over else None,
            )
        )
    return out


def queue_status(
    q: queue.Queue,
    book: quota.QuotaBook,
    pending_jobs: int,
    admitted_jobs: int,
    now: datetime,
) -> queue.QueueStatus:
    message = f"{pending_jobs} pending, {admitted_jobs} admitted"
    held = q.spec.stop_policy != "None"
    cond = conditions.condition(
        "Active",
        not held,
        "Held" if held else "Ready",
        f"stopPolicy {q.spec.stop_policy}: no new job is admitted; {message}" if held else message,
        q.metadata.generation,
        now,
    )
    return q.status.model_copy(
        update={
            "pending": pending_jobs,
            "admitted": admitted_jobs,
            "usage": _usage(book, q),
            "observed_generation": q.metadata.generation,
            "conditions": conditions.keep_transition_time(q.status.conditions, [cond]),
        }
    )
