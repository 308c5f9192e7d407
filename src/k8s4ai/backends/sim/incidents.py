"""Run the remediation month (`incident_faults`) with the engine in auto mode, or with a
human who approves the same proposals after a delay, and measure what each leaves behind.

The human baseline is generous to the human: they apply exactly the fix the rules propose,
`HUMAN_DELAYS` after it is proposed (an on-call engineer paged out of hours), and never act
on silent waste — idle notebooks and over-provisioned replicas raise no alert, so nobody
looks (notebooks end when their user comes back; replicas stay).

Each applied action is judged against the simulator's ground truth at the moment it is
applied. It is *wrong* — it should not have been taken — when the object it is about had no
fault (a healthy node cordoned, a busy notebook suspended, a service that was not
over-provisioned scaled down) or when its kind of fix cannot help with the true cause of the
fault (`CURES`: a restart of a job that died of a deterministic bug; a memory raise for a
failure that was not memory). An action of the right kind whose verification then failed is
an *insufficient step* (an OOM bump below the true need, a restart that landed on the same
bad node), counted in its own row with how many a later action on the same object fixed.
Healthy jobs moved off a correctly cordoned node are collateral, counted apart.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from k8s4ai.backends.sim import incident_faults, incident_truth, incident_world, kernel
from k8s4ai.remediation import engine, guardrails, registry, state

HOUR = 3600.0
HUMAN = "human:on-call"
HUMAN_DELAYS: Mapping[str, float] = {
    "oom-killed": 4 * HOUR,
    "failed-job": 4 * HOUR,
    "pending-volume": 4 * HOUR,
    "faulty-node": 4 * HOUR,
    "model-drift": 24 * HOUR,
}
MODES = ("auto", "human")
CURES: Mapping[str, frozenset[str]] = {
    "oom-killed": frozenset({"oom"}),
    "failed-job": frozenset({"transient", "hardware"}),
}
"""The true causes (`incident_truth.Truth.last_cause`) each job rule's fix can help with."""


class Human:
    """Approves the pending proposals of the rules in `delays`, each that long after it was
    proposed: the on-call engineer reads the same finding and evidence the rule saw and has
    nothing better to judge by, so they take the proposed fix. With `escalated_only` they
    look only at what auto mode escalated to them (suspected diagnoses), not at proposals a
    guardrail is merely holding back."""

    def __init__(
        self, loop: engine.Engine, delays: Mapping[str, float], escalated_only: bool = False
    ) -> None:
        self.loop = loop
        self.delays = delays
        self.escalated_only = escalated_only

    def act(self, now: float) -> None:
        for proposal in self.loop.pending():
            if self.escalated_only and not proposal.plan.suspected:
                continue
            delay = self.delays.get(proposal.plan.finding.rule)
            if delay is not None and now - proposal.created >= delay:
                self.loop.approve(proposal.id, HUMAN)


def drive(
    world: incident_world.SimWorld,
    loop: engine.Engine | None,
    until: float,
    human: Human | None = None,
) -> None:
    """Every tick: sample utilisation and load, run the engine, let the human act."""

    def tick(k: kernel.Kernel) -> None:
        world.sample()
        if loop is not None:
            loop.step()
        if human is not None:
            human.act(k.now)
        if k.now + world.tick <= until:
            k.after(world.tick, tick, priority=1)

    world.kernel.at(world.kernel.now, tick, priority=1)
    world.kernel.run(until)


def faulty(world: incident_world.SimWorld, rule: str, subject: state.Ref) -> bool:
    """Whether the object really had a fault (the simulator's ground truth)."""
    now = world.kernel.now
    if subject.kind == state.NODE:
        return subject.name in world.flaky
    if subject.kind == state.JOB:
        job = world.jobs.get(subject)
        if job is None:
            return False
        if rule == "idle-notebook":
            idle = world.truth[subject].idle_after
            return idle is not None and now >= idle
        return job.phase == "Failed"
    if subject.kind == state.SERVICE:
        if rule == "idle-replicas":
            return world.services[subject].over_provisioned()
        return world.is_open(subject, "drift")
    if subject.kind == state.VOLUME:
        return world.is_open(subject, "claim") or world.is_open(subject, "stuck-volume")
    return False


def misjudged(world: incident_world.SimWorld, proposal: engine.Proposal) -> str | None:
    """Why the action should not be taken ("healthy" or "wrong-kind"), or None when it is
    the right kind of fix for a real fault."""
    rule, subject = proposal.plan.finding.rule, proposal.plan.finding.subject
    if not faulty(world, rule, subject):
        return "healthy"
    cures = CURES.get(rule)
    truth = world.truth.get(subject)
    if cures is not None and truth is not None and truth.last_cause not in cures:
        return "wrong-kind"
    return None


def run(
    jobs: Sequence[incident_faults.Job],
    nodes: int,
    days: float,
    seed: int,
    mode: str,
    rates: incident_faults.Rates | None = None,
    limits: guardrails.Limits | None = None,
) -> dict[str, Any]:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    world = incident_faults.build(jobs, nodes, days, seed, rates or incident_faults.Rates())
    wrong: dict[str, str] = {}
    collateral = [0]

    def judge(proposal: engine.Proposal) -> None:
        verdict = misjudged(world, proposal)
        if verdict is not None:
            wrong[proposal.id] = verdict
        subject = proposal.plan.finding.subject
        moved = {c.ref for c in proposal.plan.changes if c.ref.kind == state.JOB}
        collateral[0] += len(moved) if subject.kind == state.NODE else 0

    mode_all = engine.Mode.AUTO if mode == "auto" else engine.Mode.PROPOSE
    loop = engine.Engine(
        world,
        registry.default_rules(),
        engine.Policy(mode_all),
        clock=lambda: world.kernel.now,
        limits=limits,
        on_apply=judge,
    )
    human = Human(loop, HUMAN_DELAYS, escalated_only=mode == "auto")
    drive(world, loop, days * 86400.0, human)
    return _metrics(world, loop, wrong, collateral[0], mode)


def _metrics(
    world: incident_world.SimWorld,
    loop: engine.Engine,
    wrong_by_id: Mapping[str, str],
    collateral: int,
    mode: str,
) -> dict[str, Any]:
    kinds: dict[str, list[incident_truth.Incident]] = defaultdict(list)
    for incident in world.incidents:
        kinds[incident.kind].append(incident)
    incidents = {}
    for kind, found in sorted(kinds.items()):
        hours = [(i.recovered - i.start) / HOUR for i in found if i.recovered is not None]
        incidents[kind] = {
            "count": len(found),
            "recovered": len(hours),
            "mean_hours": round(statistics.fmean(hours), 3) if hours else None,
            "median_hours": round(statistics.median(hours), 3) if hours else None,
        }
    applied = sorted(
        (p for p in loop.proposals.values() if p.applied_at is not None),
        key=lambda p: p.applied_at or 0.0,
    )
    own = [p for p in applied if p.approver == engine.AUTO_ACTOR]
    by_human = [p for p in applied if p.approver != engine.AUTO_ACTOR]
    if mode == "human":
        own, by_human = by_human, []
    escalated = {r["id"] for r in loop.log.records() if r.get("event") == "escalated"}
    services = {
        ref.name: {
            "breach_share": round(s.breaches / max(s.samples, 1), 4),
            "surplus_gpu_hours": round(s.surplus_gpu_seconds / HOUR, 1),
        }
        for ref, s in world.services.items()
    }
    surplus = sum(s.surplus_gpu_seconds for s in world.services.values()) / HOUR
    lost = world.lost_gpu_seconds / HOUR
    idle = world.idle_gpu_seconds / HOUR
    return {
        "mode": mode,
        "incidents": incidents,
        "gpu_hours": {
            "lost_work": round(lost, 1),
            "idle_notebooks": round(idle, 1),
            "surplus_replicas": round(surplus, 1),
            "wasted": round(lost + idle + surplus, 1),
        },
        "actions": {
            **_judged(own, applied, wrong_by_id),
            "by_actor": dict(Counter(p.approver or "" for p in applied)),
            "collateral_jobs_moved": collateral,
        },
        "escalated": {
            "proposals": len(escalated),
            "applied_by_human": len(by_human),
            "not_applied": len(escalated - {p.id for p in by_human}),
            "actions": _judged(by_human, applied, wrong_by_id),
        },
        "pending_proposals": len(loop.pending()),
        "services": services,
        "jobs_completed": world.completed,
        "audit_records": len(loop.log.records()),
    }


def _judged(
    mine: Sequence[engine.Proposal],
    applied: Sequence[engine.Proposal],
    wrong_by_id: Mapping[str, str],
) -> dict[str, Any]:
    """`mine`'s actions judged: wrong, insufficient (and fixed later by any action in
    `applied`, whoever approved it), per rule."""
    failed = {p.id for p in mine if p.status is engine.Status.FAILED}
    wrong = {p.id for p in mine if p.id in wrong_by_id}
    short = failed - wrong
    order = {p.id: i for i, p in enumerate(applied)}
    fixed_later = {
        p.id
        for p in mine
        if p.id in short
        and any(
            q.status is engine.Status.WORKED and q.plan.finding.key == p.plan.finding.key
            for q in applied[order[p.id] + 1 :]
        )
    }
    by_rule: dict[str, Counter[str]] = defaultdict(Counter)
    for p in mine:
        counts = by_rule[p.plan.finding.rule]
        counts["applied"] += 1
        counts["wrong"] += p.id in wrong
        counts["insufficient"] += p.id in short
        counts["verify_failed"] += p.id in failed
    return {
        "applied": len(mine),
        "status": dict(Counter(p.status.value for p in mine)),
        "wrong": len(wrong),
        "wrong_healthy_subject": sum(wrong_by_id[i] == "healthy" for i in wrong),
        "wrong_kind_of_fix": sum(wrong_by_id[i] == "wrong-kind" for i in wrong),
        "insufficient": len(short),
        "insufficient_fixed_later": len(fixed_later),
        "verify_failed": len(failed),
        "by_rule": {k: dict(v) for k, v in sorted(by_rule.items())},
    }
