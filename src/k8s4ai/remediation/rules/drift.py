"""A drift signal on an InferenceService → start the retraining job it names.

Anchor: KServe/Seldon drift detectors and Evidently reports raise the signal but leave
starting retraining to a pipeline someone wires by hand. We act on the signal through the
service's own retraining template (a suspended job, the way Kueue holds jobs), so the
action is an ordinary, reversible field change with an audit record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from k8s4ai.remediation import finding, plan, rule, state

DRIFT = "DriftDetected"


@dataclass(frozen=True, slots=True)
class Drift:
    name: str = "model-drift"
    threshold: float = 0.2
    """Drift score (e.g. population stability index) from which retraining is worth it."""
    verify_within: float = 3 * 3600.0

    def detect(self, now: state.State) -> Iterator[rule.Detection]:
        latest: dict[state.Ref, state.Event] = {}
        for event in now.events:
            if event.reason == DRIFT and (event.value or 0.0) >= self.threshold:
                latest[event.ref] = event
        for ref, event in sorted(latest.items()):
            svc = now.services.get(ref)
            if svc is None or svc.retrain_job is None:
                continue
            job = now.jobs.get(state.Ref(state.JOB, ref.namespace, svc.retrain_job))
            if job is None or (job.started_at or -1.0) >= event.time:
                continue
            if not job.suspend and job.phase in ("Pending", "Running"):
                continue
            found = finding.Finding(
                self.name,
                ref,
                finding.Severity.WARNING,
                f"{ref.name} drifted (score {event.value:g} ≥ {self.threshold:g}); start its "
                f"retraining job {job.ref.name}.",
                (("drift score", f"{event.value:g}"), ("retraining job", job.ref.name)),
                now.time,
            )
            changes = []
            if job.suspend:
                changes.append(plan.Change(job.ref, "suspend", True, False))
            if job.phase != "Pending":
                changes.append(plan.Change(job.ref, "phase", job.phase, "Pending"))
            yield rule.Detection(
                found,
                plan.Plan(
                    found,
                    "start retraining",
                    tuple(changes),
                    f"{job.ref.name} runs",
                    self.verify_within,
                    event.time,
                ),
            )

    def verify(self, done: plan.Plan, applied_at: float, now: state.State) -> rule.Verdict:
        svc = now.services.get(done.finding.subject)
        if svc is None or svc.retrain_job is None:
            return rule.Verdict.FAILED
        job = now.jobs.get(state.Ref(state.JOB, svc.ref.namespace, svc.retrain_job))
        if job is None:
            return rule.Verdict.FAILED
        started = (job.started_at or -1.0) >= applied_at
        return rule.Verdict.WORKED if started else rule.Verdict.PENDING
