"""`k8s4ai explain JOB`: why a gang is not running and what would let it start.

The answer starts from the reason the admission controller stored on the gang (its
`Admitted` condition) and adds a fresh look at the same state the controller rebuilds — the
queue's quota and its cohort's borrowers, free GPUs node by node, the job ahead of it — so the
numbers are today's, not those of the cycle that refused it. When no controller has looked at
the job yet, a cycle is run on the spot to say what it would decide.

Each reason kind has one explainer in `EXPLAINERS`; a new kind is one function and one entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from k8s4ai.api import gang, resource
from k8s4ai.controllers import (
    admission_budget,
    admission_convert,
    admission_state,
    admission_status,
    explain_capacity,
)
from k8s4ai.scheduler.admission import policies, reasons, workload

Kind = reasons.Kind


@dataclass(frozen=True, slots=True)
class Explanation:
    job: str
    """namespace/name"""
    phase: str
    kind: str | None
    """The reason it is not running (a `reasons.Kind` value, or Suspended); None if it runs."""
    summary: str
    facts: tuple[str, ...] = ()
    """How things stand now, in numbers."""
    remedies: tuple[str, ...] = ()
    """What would let it start."""

    def lines(self) -> list[str]:
        out = [self.summary]
        if self.facts:
            out += ["", "Why:", *(f"  - {f}" for f in self.facts)]
        if self.remedies:
            out += ["", "What would let it start:", *(f"  - {r}" for r in self.remedies)]
        return out


@dataclass(frozen=True, slots=True)
class Context:
    """What an explainer reads: the gang, its workload, and the rebuilt state."""

    gang: gang.GangSchedulingGroup
    workload: workload.Workload
    state: admission_state.State
    kind: str
    message: str
    now: datetime

    @property
    def key(self) -> str:
        return self.workload.name

    @property
    def queue(self) -> str:
        return self.workload.queue


Facts = explain_capacity.Facts
Explainer = Callable[[Context], Facts]


def explain(
    target: gang.GangSchedulingGroup,
    objs: Sequence[resource.Resource],
    now: datetime,
    policy: policies.Policy,
) -> Explanation:
    key = admission_convert.job_key(target)
    phase = target.status.phase
    cond = target.status.condition("Admitted")
    if phase in admission_state.FINISHED:
        return Explanation(key, phase, None, f"{key} has finished ({phase}).")
    if phase in admission_state.HOLDING and cond is not None and cond.status == "True":
        return _running(key, target)
    state = admission_state.build(objs, now, policy)
    wl = state.workloads[key]
    summary_prefix = ""
    if target.spec.suspend:
        kind, message = "Suspended", "spec.suspend is true"
    elif cond is None or cond.reason in ("", "SchedulerNotRunning"):
        kind, message = _what_if(objs, now, policy, key)
        summary_prefix = "no admission controller has decided on it yet; a cycle now says: "
    else:
        kind, message = cond.reason, cond.message
    ctx = Context(target, wl, state, kind, message, now)
    facts: list[str] = [explain_capacity.need(wl, state.required.get(key))]
    remedies: list[str] = []
    preempted = target.status.condition("Preempted")
    if phase == "Preempted" and preempted is not None and kind != Kind.PREEMPTED:
        facts.append(f"it ran and was {preempted.message}")
    more, fixes = EXPLAINERS.get(kind, _generic)(ctx)
    return Explanation(
        key,
        phase,
        kind,
        f"{key} is {phase}: {kind} — {summary_prefix}{message}",
        tuple(facts + more),
        tuple(remedies + fixes),
    )


def _running(key: str, target: gang.GangSchedulingGroup) -> Explanation:
    where = "; ".join(
        f"{a.name} on {admission_status.nodes_text(a.nodes)}" for a in target.status.assignments
    )
    start = target.status.start_time
    since = f" since {start:%Y-%m-%dT%H:%M:%SZ}" if start else ""
    summary = f"{key} is {target.status.phase} in queue {target.spec.queue}{since}: {where}."
    return Explanation(key, target.status.phase, None, summary)


def _what_if(
    objs: Sequence[resource.Resource], now: datetime, policy: policies.Policy, key: str
) -> tuple[str, str]:
    state = admission_state.build(objs, now, policy)
    state.scheduler.cycle(now.timestamp())
    job = state.scheduler.jobs.get(key)
    if job is None or job.phase is not workload.Phase.PENDING:
        return "Admissible", "it would be admitted by the next cycle"
    reason = job.reason
    if not isinstance(reason, reasons.Reason):
        return "Pending", "not considered yet"
    return reason.kind.value, admission_status.describe(reason, job)


def _generic(ctx: Context) -> Facts:
    return [], ["nothing to do but wait: the next cycle decides again"]


def _preempted(ctx: Context) -> Facts:
    cond = ctx.gang.status.condition("Preempted")
    facts = [f"it ran and was {cond.message}"] if cond is not None else []
    ckpt = ctx.gang.spec.checkpoint_policy
    remedies = ["nothing: it waits in its queue and is admitted again when quota and GPUs allow"]
    if ckpt is None:
        remedies.append(
            "a CheckpointPolicy (spec.checkpointPolicy) with beforePreemption: true, so the next "
            "preemption loses no work"
        )
    return facts, remedies


def _checkpointing(ctx: Context) -> Facts:
    return [], ["nothing: it is considered again once its checkpoint is saved"]


def _budget(ctx: Context) -> Facts:
    hit = admission_budget.blocking(
        ctx.state.budgets,
        ctx.queue,
        ctx.gang.metadata.labels,
        ctx.state.projected.get(ctx.key, 0.0),
    )
    if hit is None:
        return ["no budget blocks it any more: the next cycle decides again"], []
    b = hit.source
    labels = ", ".join(f"{k}={v}" for k, v in b.spec.selector.items())
    scope = f"queue {ctx.queue}" if ctx.queue in b.spec.queues else f"labels {labels}"
    facts = [hit.message()] if hit.message() != ctx.message else []
    facts.append(f"budget {b.metadata.name} covers it by its {scope}")
    return facts, [
        f"raising spec.amount of budget {b.metadata.name}, or its {b.spec.period} period "
        "starting again",
        f"changing that threshold's action from {hit.threshold.action} to notify",
    ]


def _held(ctx: Context) -> Facts:
    q = ctx.state.queues.get(ctx.queue)
    policy = q.spec.stop_policy if q is not None else "Hold"
    return (
        [f"queue {ctx.queue} has stopPolicy: {policy}: it admits no new job"],
        [f"setting spec.stopPolicy: None on queue {ctx.queue}"],
    )


def _queue_missing(ctx: Context) -> Facts:
    queues = sorted(ctx.state.queues)
    q = ctx.state.queues.get(ctx.queue)
    namespace = ctx.gang.metadata.namespace or "default"
    if q is not None:
        return (
            [f"queue {ctx.queue} takes jobs only from namespaces {', '.join(q.spec.namespaces)}"],
            [f"adding {namespace} to spec.namespaces of queue {ctx.queue}"],
        )
    return (
        [f"queue {ctx.queue} does not exist; the queues are: {', '.join(queues) or 'none'}"],
        [f"creating queue {ctx.queue}, or setting the job's spec.queue to an existing one"],
    )


def _blocked(ctx: Context) -> Facts:
    if not ctx.state.scheduler.policy.strict_fifo:
        return (
            [
                f"the first job of queue {ctx.queue} that cannot start holds the free GPUs it "
                "waits for, and later jobs of the queue do not take them"
            ],
            ["the job ahead starting or being deleted", "more GPUs freeing up than it holds"],
        )
    ahead = explain_capacity.head_of(ctx.state, ctx.gang)
    if ahead is None:
        return ["no job waits ahead of it any more: the next cycle decides again"], []
    cond = ahead.status.condition("Admitted")
    why = f"{cond.reason}: {cond.message}" if cond is not None else "not yet decided"
    head = admission_convert.job_key(ahead)
    return (
        [
            f"queue {ctx.queue} admits in strict FIFO order and {head} (priority "
            f"{ahead.spec.priority}) is ahead of it",
            f"{head} waits: {why}",
        ],
        [f"{head} being admitted or deleted", "a higher spec.priority than the job ahead"],
    )


def _quota(ctx: Context) -> Facts:
    return explain_capacity.quota_left(ctx.state, ctx.workload)


def _capacity(ctx: Context) -> Facts:
    return explain_capacity.capacity(ctx.state, ctx.workload, ctx.kind)


def _unschedulable(ctx: Context) -> Facts:
    return explain_capacity.unschedulable(ctx.state, ctx.workload)


def _suspended(ctx: Context) -> Facts:
    return ["spec.suspend is true"], ["setting spec.suspend: false"]


EXPLAINERS: dict[str, Explainer] = {
    Kind.QUOTA: _quota,
    Kind.GANG_CANNOT_FIT: _capacity,
    Kind.FRAGMENTATION: _capacity,
    Kind.UNSCHEDULABLE: _unschedulable,
    Kind.PREEMPTED: _preempted,
    Kind.NOT_YET_ELIGIBLE: _checkpointing,
    Kind.BUDGET: _budget,
    Kind.QUEUE_HELD: _held,
    Kind.QUEUE_MISSING: _queue_missing,
    Kind.BLOCKED_BY_HEAD: _blocked,
    "Suspended": _suspended,
}
