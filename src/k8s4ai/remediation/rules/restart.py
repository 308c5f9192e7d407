"""What restarting a failed job from its checkpoint changes, and how to tell it worked;
shared by the rules that restart jobs."""

from __future__ import annotations

from k8s4ai.remediation import plan, rule, state


def changes(job: state.Job) -> tuple[plan.Change, ...]:
    """Back to Pending, one more restart, the last failure cleared (undo writes it back):
    the runtime resumes a Pending job from its last checkpoint."""
    out = [
        plan.Change(job.ref, "phase", job.phase, "Pending"),
        plan.Change(job.ref, "restarts", job.restarts, job.restarts + 1),
    ]
    if job.reason is not None:
        out.append(plan.Change(job.ref, "reason", job.reason, None))
    if job.exit_code is not None:
        out.append(plan.Change(job.ref, "exit_code", job.exit_code, None))
    return tuple(out)


def verify(done: plan.Plan, applied_at: float, now: state.State) -> rule.Verdict:
    """Worked once the job has finished or gone past where it failed (`done.baseline`) —
    the lost work is recovered; failed if it fails again before that."""
    job = now.jobs.get(done.finding.subject)
    if job is None:
        return rule.Verdict.FAILED
    if job.phase == "Succeeded":
        return rule.Verdict.WORKED
    if job.phase == "Failed" and (job.failed_at or 0.0) >= applied_at:
        return rule.Verdict.FAILED
    if job.phase == "Running" and job.progress > done.baseline:
        return rule.Verdict.WORKED
    return rule.Verdict.PENDING


def resumed_from(job: state.Job) -> str:
    if not job.checkpoint_progress:
        return "from the start (no checkpoint yet)"
    return f"from its checkpoint at {job.checkpoint_progress / 3600:.1f} h of progress"
