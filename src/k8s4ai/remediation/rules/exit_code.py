"""Failed job → classify how it exited; restart the retryable ones from their checkpoint,
up to a limit, and explain the others.

Anchor: Kubeflow's `restartPolicy: ExitCode` with `backoffLimit`, which restarts every
exit from 128 up, from scratch. We classify by who sent the signal (`signals`): a failure
the platform reports or a signal from outside is retried; a signal the program raised on
itself (SIGSEGV, SIGABRT, ...) is a program fault left for a human, unless the node it ran
on shows hardware trouble, and then it is retried too (and `faulty_node` may cordon the
node). Unless a hardware event on the node coincides with the failure, that evidence is
circumstantial (an earlier event, other jobs crashing the same way: bugs are common and
meet on busy nodes by chance), so such a restart is marked suspected and waits for a human
even in auto mode. OOM kills are left to `oom`;
restarts resume from the checkpoint; every decision says in plain words why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from k8s4ai.remediation import finding, plan, rule, state
from k8s4ai.remediation.rules import restart, signals


def retryable(exit_code: int | None, reason: str | None, hardware: bool = False) -> bool | None:
    return signals.retryable(exit_code, reason, hardware)


@dataclass(frozen=True, slots=True)
class FailedJob:
    name: str = "failed-job"
    limit: int = 3
    verify_within: float = 24 * 3600.0
    """Long enough for a restarted job to get GPUs again on a busy cluster."""
    evidence: signals.HardwareEvidence = field(default_factory=signals.HardwareEvidence)

    def detect(self, now: state.State) -> Iterator[rule.Detection]:
        for job in now.jobs.values():
            if job.phase != "Failed" or job.reason == "OOMKilled" or job.suspend:
                continue
            yield self._classify(job, now)

    def _classify(self, job: state.Job, now: state.State) -> rule.Detection:
        cause = signals.cause(job.exit_code, job.reason)
        found_hw = (
            self.evidence.find(job, now) if cause is signals.Cause.SELF_SIGNAL else signals.Found()
        )
        hardware = found_hw.all
        verdict = signals.retryable(job.exit_code, job.reason, bool(hardware))
        evidence = [
            ("reason", job.reason or "none"),
            ("exit code", "none" if job.exit_code is None else str(job.exit_code)),
            ("cause", cause.value),
            ("restarts", f"{job.restarts} of {self.limit}"),
        ]
        if hardware:
            evidence.append(("hardware evidence", "; ".join(hardware)))
        sig = signals.signal_name(job.exit_code)
        doubt = found_hw.doubt(sig)
        how = f"exited with code {job.exit_code}" + (f" ({sig})" if sig else "")
        how += f", reason {job.reason}" if job.reason else ""
        if not verdict:
            why = {
                signals.Cause.SELF_SIGNAL: "the program killed itself and its node shows no "
                "hardware trouble, so a restart would most likely fail the same way",
                signals.Cause.PROGRAM: "the program stopped itself, so a restart would fail "
                "the same way",
            }.get(cause, "there is nothing to tell whether a restart would help")
            return self._explain(
                job,
                now,
                f"{job.ref.name} {how}: {why}; look at its logs.",
                evidence,
                finding.Severity.WARNING,
            )
        if job.restarts >= self.limit:
            return self._explain(
                job,
                now,
                f"{job.ref.name} {how} and was already restarted {job.restarts} times; "
                "left for a human.",
                evidence,
                finding.Severity.CRITICAL,
            )
        because = (
            f"its node shows hardware trouble ({hardware[0]})"
            if hardware
            else "a retryable failure"
        )
        found = finding.Finding(
            self.name,
            job.ref,
            finding.Severity.WARNING,
            f"{job.ref.name} {how}, {because}; restart it {restart.resumed_from(job)}"
            + (" (suspected: left for a human to approve)." if doubt else "."),
            tuple(evidence),
            now.time,
        )
        return rule.Detection(
            found,
            plan.Plan(
                found,
                "restart from checkpoint",
                restart.changes(job),
                f"{job.ref.name} runs past {job.progress / 3600:.1f} h of progress",
                self.verify_within,
                job.progress,
                plan.Certainty.SUSPECTED if doubt else plan.Certainty.CERTAIN,
                doubt,
            ),
        )

    def _explain(
        self,
        job: state.Job,
        now: state.State,
        text: str,
        evidence: list[tuple[str, str]],
        severity: finding.Severity,
    ) -> rule.Detection:
        return rule.Detection(
            finding.Finding(self.name, job.ref, severity, text, tuple(evidence), now.time)
        )

    def verify(self, done: plan.Plan, applied_at: float, now: state.State) -> rule.Verdict:
        return restart.verify(done, applied_at, now)
