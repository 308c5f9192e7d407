"""OOMKilled job → resume it from its last checkpoint with more memory.

Anchor: the Kubernetes VPA recommender, which after an OOM kill raises the memory
recommendation to max(+100 MiB, ×1.2) of max(request, observed peak) and lets the pod
restart from scratch. We keep VPA's bump, but resume from the checkpoint (no work lost
beyond it), cap the request at the largest node's memory so the job stays schedulable, and
once at that cap stop raising and say the job cannot fit rather than loop.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from k8s4ai.remediation import finding, plan, rule, state
from k8s4ai.remediation.rules import restart

MIN_BUMP_MIB = 100.0
BUMP_RATIO = 1.2


def raised(request_mib: float, peak_mib: float | None, cap_mib: float) -> float:
    """VPA's OOM bump, capped, in whole MiB."""
    base = max(request_mib, peak_mib or 0.0)
    return float(min(math.ceil(max(base + MIN_BUMP_MIB, base * BUMP_RATIO)), cap_mib))


@dataclass(frozen=True, slots=True)
class OOMKilled:
    name: str = "oom-killed"
    verify_within: float = 24 * 3600.0
    """Long enough for a restarted job to get GPUs again on a busy cluster."""

    def detect(self, now: state.State) -> Iterator[rule.Detection]:
        cap = now.largest_node_memory()
        for job in now.jobs.values():
            if job.phase != "Failed" or job.reason != "OOMKilled" or job.suspend:
                continue
            target = raised(job.memory_mib, job.peak_memory_mib, cap)
            evidence = (
                ("reason", "OOMKilled"),
                ("memory request", f"{job.memory_mib:g}Mi"),
                (
                    "observed peak",
                    "not measured"
                    if job.peak_memory_mib is None
                    else f"{job.peak_memory_mib:g}Mi",
                ),
                ("largest node", f"{cap:g}Mi"),
            )
            if target <= job.memory_mib:
                yield rule.Detection(
                    finding.Finding(
                        self.name,
                        job.ref,
                        finding.Severity.CRITICAL,
                        f"{job.ref.name} ran out of memory at {job.memory_mib:g}Mi per pod, "
                        f"already the most any node offers ({cap:g}Mi): it needs less memory "
                        "or more pods, not a restart.",
                        evidence,
                        now.time,
                    )
                )
                continue
            found = finding.Finding(
                self.name,
                job.ref,
                finding.Severity.CRITICAL,
                f"{job.ref.name} was OOMKilled at {job.memory_mib:g}Mi per pod; raise it to "
                f"{target:g}Mi (VPA's bump) and resume {restart.resumed_from(job)}.",
                evidence,
                now.time,
            )
            yield rule.Detection(
                found,
                plan.Plan(
                    found,
                    f"raise memory to {target:g}Mi and restart",
                    (
                        plan.Change(job.ref, "memory_mib", job.memory_mib, target),
                        *restart.changes(job),
                    ),
                    f"{job.ref.name} runs past {job.progress / 3600:.1f} h of progress "
                    "without another OOM kill",
                    self.verify_within,
                    job.progress,
                ),
            )

    def verify(self, done: plan.Plan, applied_at: float, now: state.State) -> rule.Verdict:
        return restart.verify(done, applied_at, now)
