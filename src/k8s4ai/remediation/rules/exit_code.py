"""Failed job → classify how it exited; restart the retryable ones from their checkpoint,
up to a limit, and explain the permanent ones.

Anchor: Kubeflow's `restartPolicy: ExitCode` (exit codes 1–127 permanent, 128–255
retryable, since those mean the process was killed by a signal) with `backoffLimit`, which
restarts pods from scratch. We classify the same way with the usual exceptions (126 and 127
are "cannot execute" / "not found", never retryable; a failure the platform itself reports —
evicted, preempted, node or GPU lost — is retryable whatever the code), leave OOM kills to
`oom`, resume from the checkpoint, and say in plain words why a permanent failure is left
alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from k8s4ai.remediation import finding, plan, rule, state
from k8s4ai.remediation.rules import restart

PLATFORM_REASONS = frozenset({"Evicted", "Preempted", "NodeLost", "GPUError", "DeadlineExceeded"})
"""Reasons the platform gives when it, not the program, stopped the job."""


def retryable(exit_code: int | None, reason: str | None) -> bool | None:
    """True / False, or None when there is nothing to classify by."""
    if reason in PLATFORM_REASONS:
        return True
    if exit_code is None:
        return None
    if exit_code in (126, 127) or 1 <= exit_code <= 127:
        return False
    return exit_code >= 128


@dataclass(frozen=True, slots=True)
class FailedJob:
    name: str = "failed-job"
    limit: int = 3
    verify_within: float = 24 * 3600.0
    """Long enough for a restarted job to get GPUs again on a busy cluster."""

    def detect(self, now: state.State) -> Iterator[rule.Detection]:
        for job in now.jobs.values():
            if job.phase != "Failed" or job.reason == "OOMKilled" or job.suspend:
                continue
            verdict = retryable(job.exit_code, job.reason)
            evidence = (
                ("reason", job.reason or "none"),
                ("exit code", "none" if job.exit_code is None else str(job.exit_code)),
                ("restarts", f"{job.restarts} of {self.limit}"),
            )
            how = f"exited with code {job.exit_code}" + (f" ({job.reason})" if job.reason else "")
            if verdict is None or not verdict:
                why = (
                    "the program stopped itself, so a restart would fail the same way"
                    if verdict is False
                    else "there is no exit code to tell whether a restart would help"
                )
                yield rule.Detection(
                    finding.Finding(
                        self.name,
                        job.ref,
                        finding.Severity.WARNING,
                        f"{job.ref.name} {how}: {why}; look at its logs.",
                        evidence,
                        now.time,
                    )
                )
                continue
            if job.restarts >= self.limit:
                yield rule.Detection(
                    finding.Finding(
                        self.name,
                        job.ref,
                        finding.Severity.CRITICAL,
                        f"{job.ref.name} {how} and was already restarted {job.restarts} times; "
                        "left for a human.",
                        evidence,
                        now.time,
                    )
                )
                continue
            found = finding.Finding(
                self.name,
                job.ref,
                finding.Severity.WARNING,
                f"{job.ref.name} {how}, a retryable failure; restart it "
                f"{restart.resumed_from(job)}.",
                evidence,
                now.time,
            )
            yield rule.Detection(
                found,
                plan.Plan(
                    found,
                    "restart from checkpoint",
                    restart.changes(job),
                    f"{job.ref.name} runs past {job.progress / 3600:.1f} h of progress",
                    self.verify_within,
                    job.progress,
                ),
            )

    def verify(self, done: plan.Plan, applied_at: float, now: state.State) -> rule.Verdict:
        return restart.verify(done, applied_at, now)
