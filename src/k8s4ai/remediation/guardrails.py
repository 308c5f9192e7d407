"""What keeps remediation from doing harm at scale: a rate limit, a blast radius (the share
of a queue's jobs and of the cluster's nodes that in-flight actions may disturb at once) and
never repeating an action that just failed on the same object; and a plan whose diagnosis is
only suspected is applied by a human, never by policy alone.

The blast radius follows Karpenter's disruption budgets (a share of nodes, rounded up, so one
node can always be touched) and counts what a change really disturbs: a cordoned node, and
every node a running job is moved off or stopped on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from k8s4ai.remediation import plan, state

_DISRUPTING = frozenset({"phase", "suspend", "memory_mib", "zone"})
"""Job fields whose change stops a running job's pods."""


@dataclass(frozen=True, slots=True)
class Limits:
    actions_per_hour: int = 20
    queue_share: float = 0.5
    """Of a queue's active (non-finished) jobs, the share in-flight actions may touch."""
    cluster_share: float = 0.2
    """Of the cluster's nodes, the share in-flight actions may disturb."""

    def __post_init__(self) -> None:
        if self.actions_per_hour < 1:
            raise ValueError("actions_per_hour must be at least 1")
        for name in ("queue_share", "cluster_share"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1]")


@dataclass(frozen=True, slots=True)
class Footprint:
    nodes: frozenset[str] = frozenset()
    jobs: frozenset[tuple[str, state.Ref]] = frozenset()
    """(queue, job) pairs."""


def footprint(changes: Iterable[plan.Change], now: state.State) -> Footprint:
    nodes: set[str] = set()
    jobs: set[tuple[str, state.Ref]] = set()
    for change in changes:
        if change.ref.kind == state.NODE:
            nodes.add(change.ref.name)
        job = now.jobs.get(change.ref)
        if job is None:
            continue
        jobs.add((job.queue, job.ref))
        if job.phase == "Running" and change.field in _DISRUPTING:
            nodes.update(job.nodes)
    return Footprint(frozenset(nodes), frozenset(jobs))


def needs_human(proposed: plan.Plan) -> str | None:
    """Why policy alone may not apply the plan, or None: a suspected diagnosis is escalated
    to a human whatever the mode, because acting on a guess at machine speed turns every
    coincidence into a wrong action."""
    if not proposed.suspected:
        return None
    return f"escalated: suspected diagnosis ({proposed.doubt}); needs a human's approval"


def check(
    proposed: plan.Plan,
    now: state.State,
    in_flight: Sequence[Footprint],
    applied_times: Sequence[float],
    failed: frozenset[tuple[str, state.Ref, str]],
    limits: Limits,
) -> str | None:
    """Why the plan may not run now, or None."""
    if proposed.signature in failed:
        return f"the same action ({proposed.action}) failed last time on {proposed.finding.subject}"
    recent = sum(1 for t in applied_times if t > now.time - 3600.0)
    if recent >= limits.actions_per_hour:
        return f"rate limit: {recent} actions in the last hour (limit {limits.actions_per_hour})"
    mine = footprint(proposed.changes, now)
    busy_nodes = set(mine.nodes).union(*(f.nodes for f in in_flight))
    node_cap = math.ceil(limits.cluster_share * len(now.nodes))
    if mine.nodes and len(busy_nodes) > node_cap:
        return (
            f"blast radius: {len(busy_nodes)} of {len(now.nodes)} nodes would be disturbed at "
            f"once (limit {limits.cluster_share:.0%}, {node_cap})"
        )
    busy_jobs = set(mine.jobs).union(*(f.jobs for f in in_flight))
    for queue in sorted({q for q, _ in mine.jobs}):
        active = len(
            {j.ref for j in now.jobs.values() if j.queue == queue and j.phase != "Succeeded"}
            | {ref for q, ref in mine.jobs if q == queue}
        )
        cap = math.ceil(limits.queue_share * active)
        touched = sum(1 for q, _ in busy_jobs if q == queue)
        if touched > cap:
            return (
                f"blast radius: {touched} of {active} active jobs of queue {queue} would be "
                f"touched at once (limit {limits.queue_share:.0%}, {cap})"
            )
    return None
