"""A GPU node where jobs keep failing on hardware errors → cordon it and move its gangs,
each from its last checkpoint.

Anchor: Kubernetes node-problem-detector with a drain (draino, Karpenter's node repair),
which acts on one node condition and evicts pods that then restart from scratch. We count
hardware failures of different jobs on the node over a window (one bad job does not condemn
a node, and one outage that kills all its jobs at once counts once), cordon it, and restart
its running gangs from their checkpoints elsewhere. Bad hardware often shows only as jobs
dying of a signal they raised themselves (SIGBUS on a memory error, SIGSEGV, SIGABRT), so
those failures count too — but only on a node that also had a hardware event in the window:
bugs crash that way far more often, and three unrelated bugs can meet on a busy node. Even
then, a count that reaches the bar only with such crashes is circumstantial: the plan is
marked suspected and waits for a human; hardware events alone reaching it make it certain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from k8s4ai.remediation import finding, plan, rule, state
from k8s4ai.remediation.rules import signals

HARDWARE = frozenset({"GPUError", "NodeLost"})
EPISODE = 60.0
"""Failures on one node closer together than this are one episode (a node going down takes
all its jobs with it at once: one failure, not many)."""


def episodes(events: list[state.Event]) -> int:
    times = sorted(e.time for e in events)
    return sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] > EPISODE)


@dataclass(frozen=True, slots=True)
class FaultyNode:
    name: str = "faulty-node"
    failures: int = 3
    """Separate hardware failure episodes, of at least two different jobs, within `window`."""
    window: float = 24 * 3600.0
    verify_within: float = 1800.0

    def detect(self, now: state.State) -> Iterator[rule.Detection]:
        seen: dict[str, list[state.Event]] = defaultdict(list)
        crashes: dict[str, list[state.Event]] = defaultdict(list)
        for event in now.events:
            if not event.node or event.time < now.time - self.window:
                continue
            if event.reason in HARDWARE:
                seen[event.node].append(event)
            elif signals.cause(event.exit_code, event.reason) is signals.Cause.SELF_SIGNAL:
                crashes[event.node].append(event)
        for name, hardware in sorted(seen.items()):
            node = now.node(name)
            events = hardware + crashes.get(name, [])
            jobs = {e.ref for e in events}
            count = episodes(events)
            if node is None or node.unschedulable or count < self.failures:
                continue
            if len(jobs) < 2:
                continue
            running = sorted(
                (j for j in now.jobs.values() if j.phase == "Running" and name in j.nodes),
                key=lambda j: j.ref,
            )
            found = finding.Finding(
                self.name,
                node.ref,
                finding.Severity.CRITICAL,
                f"node {name} had {count} failures of {len(jobs)} jobs in "
                f"{self.window / 3600:g} h, {len(hardware)} with a hardware event; cordon it "
                f"and move its {len(running)} running gangs from their checkpoints.",
                (
                    ("failure episodes", str(count)),
                    ("hardware events", str(len(hardware))),
                    ("self-raised signal crashes", str(len(events) - len(hardware))),
                    ("jobs failed", ", ".join(sorted(r.name for r in jobs))),
                    ("running gangs", ", ".join(j.ref.name for j in running) or "none"),
                ),
                now.time,
            )
            changes = [plan.Change(node.ref, "unschedulable", False, True)]
            for job in running:
                changes.append(plan.Change(job.ref, "phase", "Running", "Pending"))
                changes.append(plan.Change(job.ref, "restarts", job.restarts, job.restarts + 1))
            effect = f"no gang runs on {name}; moved gangs resume elsewhere"
            by_hardware = episodes(hardware)
            certain = by_hardware >= self.failures and len({e.ref for e in hardware}) >= 2
            doubt = (
                ""
                if certain
                else f"{count} failures, of which only {by_hardware} with a hardware event of "
                "their own; the rest are crashes by a self-raised signal, which bugs also cause"
            )
            yield rule.Detection(
                found,
                plan.Plan(
                    found,
                    "cordon and move",
                    tuple(changes),
                    effect,
                    self.verify_within,
                    certainty=plan.Certainty.SUSPECTED if doubt else plan.Certainty.CERTAIN,
                    doubt=doubt,
                ),
            )

    def verify(self, done: plan.Plan, applied_at: float, now: state.State) -> rule.Verdict:
        node = now.nodes.get(done.finding.subject)
        if node is None:
            return rule.Verdict.WORKED
        if not node.unschedulable:
            return rule.Verdict.FAILED
        busy = any(node.ref.name in j.nodes and j.phase == "Running" for j in now.jobs.values())
        return rule.Verdict.PENDING if busy else rule.Verdict.WORKED
