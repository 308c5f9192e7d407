"""The remediation loop: detect → plan → approve → act → verify, with every step audited.

Each `step` takes one snapshot of the world, asks every in-flight action's rule whether its
fix worked, then runs every rule. A detection with a plan becomes a proposal unless its rule
runs in `observe` mode for the subject's namespace; in `auto` mode the engine approves it
itself if the rule is certain of its diagnosis, and escalates it to a human (it stays
pending, audited as escalated) if the diagnosis is only suspected. Approved plans pass the
guardrails and a staleness check against a fresh snapshot (the dry-run: the diff is audited
before anything is written), then the world applies them.
A fault being fixed (an action awaiting its verdict) is not proposed again.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from k8s4ai.remediation import audit, finding, guardrails, plan, rule, state, world

AUTO_ACTOR = "policy:auto"


class Mode(enum.IntEnum):
    OBSERVE = 0
    PROPOSE = 1
    AUTO = 2


@dataclass(frozen=True, slots=True)
class Policy:
    """A mode per rule and namespace: the most specific matching override wins
    (rule and namespace > rule > namespace > `default`); "*" matches anything."""

    default: Mode = Mode.PROPOSE
    overrides: tuple[tuple[str, str, Mode], ...] = ()

    def mode(self, rule_name: str, namespace: str) -> Mode:
        best: tuple[int, Mode] = (-1, self.default)
        for r, ns, mode in self.overrides:
            if r not in ("*", rule_name) or ns not in ("*", namespace):
                continue
            rank = 2 * (r != "*") + (ns != "*")
            if rank > best[0]:
                best = (rank, mode)
        return best[1]


class Status(enum.Enum):
    PENDING = "pending"
    APPLIED = "applied"
    WORKED = "worked"
    FAILED = "failed"
    REJECTED = "rejected"
    UNDONE = "undone"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Proposal:
    id: str
    plan: plan.Plan
    created: float
    status: Status = Status.PENDING
    blocked: str | None = None
    """Why the guardrails held it back last time they were asked."""
    approver: str | None = None
    applied_at: float | None = None
    footprint: guardrails.Footprint = field(default_factory=guardrails.Footprint)


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    message: str


class Engine:
    def __init__(
        self,
        target: world.World,
        rules: Sequence[rule.Rule],
        policy: Policy,
        clock: Callable[[], float],
        limits: guardrails.Limits | None = None,
        log: audit.AuditLog | None = None,
        on_apply: Callable[[Proposal], None] | None = None,
        ids: Callable[[plan.Plan], str] | None = None,
        applied_times: Sequence[float] = (),
    ) -> None:
        """`ids` names proposals (default: a counter); `applied_times` carries the rate
        limit over from earlier processes (the times of actions already applied)."""
        self.world = target
        self.rules = {r.name: r for r in rules}
        self.policy = policy
        self.clock = clock
        self.limits = limits or guardrails.Limits()
        self.log = log or audit.AuditLog()
        self.proposals: dict[str, Proposal] = {}
        self.findings: dict[tuple[str, state.Ref], finding.Finding] = {}
        self._applied_times: list[float] = list(applied_times)
        self._last: dict[tuple[str, state.Ref], tuple[str, Status]] = {}
        self._rejected: set[tuple[str, state.Ref, str]] = set()
        self._next = 0
        self._on_apply = on_apply
        self._ids = ids
        self._live_ids: dict[str, None] = {}
        self._snap: state.State | None = None
        """The step's snapshot while nothing has been applied since it was taken."""

    def step(self) -> None:
        snap = self.world.snapshot()
        self._snap = snap
        self._verify(snap)
        handling = {p.plan.finding.key for p in self._live() if p.status is Status.APPLIED}
        seen: set[tuple[str, state.Ref]] = set(handling)
        for r in self.rules.values():
            for detection in r.detect(snap):
                key = detection.finding.key
                if key in handling:
                    continue
                seen.add(key)
                self._observe(detection.finding)
                mode = self.policy.mode(r.name, key[1].namespace)
                if detection.plan is None or mode is Mode.OBSERVE:
                    continue
                pending = self._pending(key)
                if pending is not None and not plan.stale(pending.plan.changes, snap):
                    proposal = pending
                else:
                    if pending is not None:
                        self._close(pending, Status.WITHDRAWN, "system", "the state moved on")
                    if detection.plan.signature in self._rejected:
                        continue
                    proposal = self._propose(detection.plan)
                if mode is Mode.AUTO:
                    self.approve(proposal.id, AUTO_ACTOR)
        self._snap = None
        for key in [k for k in self.findings if k not in seen]:
            del self.findings[key]
            pending = self._pending(key)
            if pending is not None:
                self._close(pending, Status.WITHDRAWN, "system", "the fault is gone")

    def approve(self, proposal_id: str, actor: str) -> Outcome:
        proposal = self.proposals.get(proposal_id)
        if proposal is None or proposal.status is not Status.PENDING:
            return Outcome(False, f"{proposal_id} is not a pending proposal")
        snap = self._snap or self.world.snapshot()
        stale = plan.stale(proposal.plan.changes, snap)
        if stale:
            self._close(proposal, Status.WITHDRAWN, actor, "stale: " + "; ".join(stale))
            return Outcome(False, f"{proposal_id} is stale: {'; '.join(stale)}")
        escalated = guardrails.needs_human(proposal.plan) if actor == AUTO_ACTOR else None
        if escalated is not None:
            if escalated != proposal.blocked:
                self._record("escalated", proposal, actor, reason=escalated)
            self._keep(replace(proposal, blocked=escalated))
            return Outcome(False, escalated)
        in_flight = [p.footprint for p in self._live() if p.status is Status.APPLIED]
        failed = frozenset(
            (k[0], k[1], action) for k, (action, st) in self._last.items() if st is Status.FAILED
        )
        reason = guardrails.check(
            proposal.plan, snap, in_flight, self._applied_times, failed, self.limits
        )
        if reason is not None:
            if reason != proposal.blocked:
                self._record("blocked", proposal, actor, reason=reason)
            self._keep(replace(proposal, blocked=reason))
            return Outcome(False, reason)
        self._record("dry-run", proposal, actor, changes=proposal.plan.changes)
        if self._on_apply is not None:
            self._on_apply(proposal)
        self.world.apply(proposal.plan.changes)
        self._snap = None
        now = self.clock()
        self._applied_times.append(now)
        self._keep(
            replace(
                proposal,
                status=Status.APPLIED,
                blocked=None,
                approver=actor,
                applied_at=now,
                footprint=guardrails.footprint(proposal.plan.changes, snap),
            )
        )
        self._record("applied", proposal, actor, changes=proposal.plan.changes)
        return Outcome(True, f"{proposal_id} applied")

    def reject(self, proposal_id: str, actor: str) -> Outcome:
        proposal = self.proposals.get(proposal_id)
        if proposal is None or proposal.status is not Status.PENDING:
            return Outcome(False, f"{proposal_id} is not a pending proposal")
        self._rejected.add(proposal.plan.signature)
        self._close(proposal, Status.REJECTED, actor, "rejected")
        return Outcome(True, f"{proposal_id} rejected")

    def undo(self, proposal_id: str, actor: str) -> Outcome:
        """Write every before back, if nothing changed the fields since."""
        proposal = self.proposals.get(proposal_id)
        if proposal is None or proposal.status not in (
            Status.APPLIED,
            Status.WORKED,
            Status.FAILED,
        ):
            return Outcome(False, f"{proposal_id} was not applied")
        back = proposal.plan.undo()
        stale = plan.stale(back, self.world.snapshot())
        if stale:
            return Outcome(False, f"cannot undo {proposal_id}: {'; '.join(stale)}")
        self._record("dry-run", proposal, actor, changes=back)
        self.world.apply(back)
        self._keep(replace(proposal, status=Status.UNDONE))
        self._record("undone", proposal, actor, changes=back)
        return Outcome(True, f"{proposal_id} undone")

    def forget(self, proposal_id: str) -> None:
        """Drop a proposal without a record (one a previous process already decided)."""
        self.proposals.pop(proposal_id, None)
        self._live_ids.pop(proposal_id, None)

    def pending(self) -> list[Proposal]:
        return [p for p in self._live() if p.status is Status.PENDING]

    def _keep(self, proposal: Proposal) -> None:
        """Store a proposal's new state; pending and applied ones stay on the live list, so
        a long run does not rescan every closed proposal each step."""
        self.proposals[proposal.id] = proposal
        if proposal.status in (Status.PENDING, Status.APPLIED):
            self._live_ids[proposal.id] = None
        else:
            self._live_ids.pop(proposal.id, None)

    def _live(self) -> list[Proposal]:
        return [self.proposals[i] for i in self._live_ids]

    def _verify(self, snap: state.State) -> None:
        for proposal in list(self._live()):
            if proposal.status is not Status.APPLIED or proposal.applied_at is None:
                continue
            r = self.rules[proposal.plan.finding.rule]
            verdict = r.verify(proposal.plan, proposal.applied_at, snap)
            late = snap.time > proposal.applied_at + proposal.plan.verify_within
            if verdict is rule.Verdict.PENDING and not late:
                continue
            status = Status.WORKED if verdict is rule.Verdict.WORKED else Status.FAILED
            self._last[proposal.plan.finding.key] = (proposal.plan.action, status)
            self._keep(replace(proposal, status=status))
            why = "timed out" if verdict is rule.Verdict.PENDING else status.value
            self._record("verified", proposal, "system", reason=why)

    def _observe(self, found: finding.Finding) -> None:
        if found.key not in self.findings:
            self.log.append(
                {
                    "time": self.clock(),
                    "event": "detected",
                    "rule": found.rule,
                    "subject": str(found.subject),
                    "severity": found.severity.name.lower(),
                    "explanation": found.explanation,
                    "evidence": dict(found.evidence),
                }
            )
        self.findings[found.key] = found

    def _pending(self, key: tuple[str, state.Ref]) -> Proposal | None:
        return next(
            (p for p in self._live() if p.status is Status.PENDING and p.plan.finding.key == key),
            None,
        )

    def _propose(self, made: plan.Plan) -> Proposal:
        self._next += 1
        name = f"r{self._next:05d}" if self._ids is None else self._ids(made)
        while name in self.proposals:
            name += "+"
        proposal = Proposal(name, made, self.clock())
        self._keep(proposal)
        self._record("proposed", proposal, made.finding.rule, changes=made.changes)
        return proposal

    def _close(self, proposal: Proposal, status: Status, actor: str, reason: str) -> None:
        self._keep(replace(proposal, status=status))
        self._record(status.value, proposal, actor, reason=reason)

    def _record(
        self,
        event: str,
        proposal: Proposal,
        actor: str,
        changes: Sequence[plan.Change] = (),
        reason: str | None = None,
    ) -> None:
        made = proposal.plan
        entry: dict[str, object] = {
            "time": self.clock(),
            "event": event,
            "id": proposal.id,
            "rule": made.finding.rule,
            "subject": str(made.finding.subject),
            "action": made.action,
            "actor": actor,
        }
        if changes:
            entry["changes"] = [
                {"object": str(c.ref), "field": c.field, "before": c.before, "after": c.after}
                for c in changes
            ]
        if reason is not None:
            entry["reason"] = reason
        if event == "proposed":
            entry["explanation"] = made.finding.explanation
            entry["effect"] = made.effect
            entry["certainty"] = made.certainty.value
            if made.doubt:
                entry["doubt"] = made.doubt
        self.log.append(entry)
