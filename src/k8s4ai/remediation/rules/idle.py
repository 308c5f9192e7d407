"""Idle GPUs: an inference service with more replicas than its load needs, and notebooks or
dev jobs holding GPUs they have not used for a while.

Anchors: Karpenter consolidation, which removes nodes whose pods fit elsewhere but knows
nothing of a service's latency target, and dstack's `utilization_policy`, which terminates
a run as soon as any one of its GPUs stayed under `min_gpu_utilization` in every sample of
a `time_window`. We scale replicas down only to what the recent peak load needs at the
latency target with headroom (never below minReplicas, and only while latency is within
target). We act on a notebook only when its GPUs as a whole were idle for the whole window
(samples must cover it, as dstack also requires), so one idle GPU of a busy job is left
alone, and we suspend instead of terminating, so undo brings it back with its volume.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from k8s4ai.remediation import finding, plan, rule, state


@dataclass(frozen=True, slots=True)
class IdleReplicas:
    name: str = "idle-replicas"
    headroom: float = 0.8
    """Fill a replica to this share of the load it serves within the latency target."""
    settle: float = 600.0
    verify_within: float = 3600.0

    def needed(self, service: state.Service) -> int | None:
        """Replicas the peak load needs, or None when load or capacity was not measured."""
        if service.load_rps is None or not service.capacity_rps:
            return None
        busy = math.ceil(service.load_rps / (service.capacity_rps * self.headroom))
        return max(service.min_replicas, busy)

    def detect(self, now: state.State) -> Iterator[rule.Detection]:
        for svc in now.services.values():
            need = self.needed(svc)
            if need is None or need >= svc.replicas or not _within_target(svc):
                continue
            freed = (svc.replicas - need) * svc.gpus_per_replica
            found = finding.Finding(
                self.name,
                svc.ref,
                finding.Severity.INFO,
                f"{svc.ref.name} runs {svc.replicas} replicas but its peak load of "
                f"{svc.load_rps:g} req/s needs {need}; scaling down frees {freed} GPUs.",
                (
                    ("replicas", str(svc.replicas)),
                    ("min replicas", str(svc.min_replicas)),
                    ("peak load", f"{svc.load_rps:g} req/s"),
                    ("per replica at target", f"{svc.capacity_rps:g} req/s"),
                    ("latency", f"{svc.latency_ms:g} ms of {svc.latency_target_ms:g} ms"),
                ),
                now.time,
            )
            change = plan.Change(svc.ref, "replicas", svc.replicas, need)
            effect = f"{freed} GPUs freed, latency stays within {svc.latency_target_ms:g} ms"
            yield rule.Detection(
                found,
                plan.Plan(found, f"scale to {need}", (change,), effect, self.verify_within),
            )

    def verify(self, done: plan.Plan, applied_at: float, now: state.State) -> rule.Verdict:
        svc = now.services.get(done.finding.subject)
        if svc is None or (svc.latency_ms is not None and not _within_target(svc)):
            return rule.Verdict.FAILED
        if svc.latency_ms is None:
            return rule.Verdict.PENDING
        if now.time - applied_at < self.settle:
            return rule.Verdict.PENDING
        return rule.Verdict.WORKED


def _within_target(svc: state.Service) -> bool:
    """Latency measured and within a known target; anything unmeasured is not "within"."""
    if svc.latency_ms is None or svc.latency_target_ms is None:
        return False
    return svc.latency_ms <= svc.latency_target_ms


@dataclass(frozen=True, slots=True)
class IdleNotebook:
    name: str = "idle-notebook"
    threshold: float = 0.05
    """Mean GPU utilisation under which a sample counts as idle."""
    window: float = 2 * 3600.0
    verify_within: float = 900.0

    def detect(self, now: state.State) -> Iterator[rule.Detection]:
        since = now.time - self.window
        for job in now.jobs.values():
            if job.workload not in ("notebook", "dev") or job.phase != "Running" or job.suspend:
                continue
            samples = [u for t, u in job.utilisation if t >= since]
            covered = bool(job.utilisation) and job.utilisation[0][0] <= since
            if not covered or not samples or max(samples) >= self.threshold:
                continue
            found = finding.Finding(
                self.name,
                job.ref,
                finding.Severity.INFO,
                f"{job.workload} {job.ref.name} has held {job.gpus} GPUs under "
                f"{self.threshold:.0%} utilisation for {self.window / 3600:g} h; suspend it "
                "(its volume stays, undo resumes it).",
                (
                    ("GPUs", str(job.gpus)),
                    ("peak utilisation in window", f"{max(samples):.1%}"),
                    ("window", f"{self.window / 3600:g} h"),
                ),
                now.time,
            )
            change = plan.Change(job.ref, "suspend", False, True)
            effect = f"{job.gpus} GPUs freed"
            yield rule.Detection(
                found, plan.Plan(found, "suspend", (change,), effect, self.verify_within)
            )

    def verify(self, done: plan.Plan, applied_at: float, now: state.State) -> rule.Verdict:
        """Worked once the notebook holds no GPUs (or is gone, which frees them too)."""
        job = now.jobs.get(done.finding.subject)
        if job is None:
            return rule.Verdict.WORKED
        return rule.Verdict.WORKED if not job.nodes else rule.Verdict.PENDING
