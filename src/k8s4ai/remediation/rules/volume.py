"""A job waiting on its PersistentVolumeClaim → say why the claim does not bind (or the
volume does not attach) and propose the fix.

Anchor: k8sgpt's PVC analyzer, which reports a Pending claim's latest ProvisioningFailed
event and leaves the fix to a human. We diagnose from the objects themselves, in order —
no (or an unknown) StorageClass, a WaitForFirstConsumer class that cannot provision in the
zone the consumer is pinned to, a class out of capacity, a volume still attached to a dead
node — and propose one field change that makes the claim bindable, checking the fix against
the same facts before proposing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from k8s4ai.remediation import finding, plan, rule, state


def _serves(cls: state.StorageClass, zone: str | None, size_gib: float) -> bool:
    return (zone is None or not cls.zones or zone in cls.zones) and cls.free_gib >= size_gib


def _alternative(
    now: state.State, zone: str | None, size_gib: float, avoid: str | None
) -> state.StorageClass | None:
    """The default class if it serves, else the first that does, by name."""
    fits = [
        c
        for c in sorted(now.classes.values(), key=lambda c: (not c.default, c.ref.name))
        if c.ref.name != avoid and _serves(c, zone, size_gib)
    ]
    return fits[0] if fits else None


@dataclass(frozen=True, slots=True)
class PendingVolume:
    name: str = "pending-volume"
    verify_within: float = 1800.0

    def detect(self, now: state.State) -> Iterator[rule.Detection]:
        for job in now.jobs.values():
            if job.phase != "Pending" or job.suspend or job.volume is None:
                continue
            claim = now.volumes.get(state.Ref(state.VOLUME, job.ref.namespace, job.volume))
            if claim is None:
                continue
            found = self._diagnose(now, job, claim)
            if found is not None:
                yield found

    def _diagnose(
        self, now: state.State, job: state.Job, claim: state.Volume
    ) -> rule.Detection | None:
        cls = now.storage_class(claim.storage_class)
        zone = job.zone
        if claim.phase == "Bound":
            node = now.node(claim.attached_node) if claim.attached_node else None
            if node is None or (node.ready and not node.unschedulable):
                return None
            why = (
                f"its volume is still attached to node {node.ref.name}, which is "
                f"{'not ready' if not node.ready else 'cordoned'}; detach it so the pod can start"
            )
            change = plan.Change(claim.ref, "attached_node", claim.attached_node, None)
            return self._detection(now, job, claim, why, "detach volume", change)
        if cls is None:
            named = claim.storage_class
            missing = f"StorageClass {named!r} does not exist" if named else "names no StorageClass"
            alt = _alternative(now, zone, claim.size_gib, None)
            if alt is None:
                return self._detection(now, job, claim, f"{missing} and none serves it", None, None)
            change = plan.Change(claim.ref, "storage_class", named, alt.ref.name)
            why = f"{missing}; use {alt.ref.name}"
            return self._detection(now, job, claim, why, f"use class {alt.ref.name}", change)
        if zone is not None and cls.zones and zone not in cls.zones:
            why = (
                f"StorageClass {cls.ref.name} provisions only in {', '.join(cls.zones)} but the "
                f"pod is pinned to {zone}"
            )
            alt = _alternative(now, zone, claim.size_gib, cls.ref.name)
            if alt is not None:
                change = plan.Change(claim.ref, "storage_class", cls.ref.name, alt.ref.name)
                why += f"; use {alt.ref.name}, which serves {zone}"
                return self._detection(now, job, claim, why, f"use class {alt.ref.name}", change)
            target = self._zone_for(now, job, cls)
            if target is None:
                return self._detection(now, job, claim, why, None, None)
            change = plan.Change(job.ref, "zone", zone, target)
            why += f"; pin the pod to {target} instead"
            return self._detection(now, job, claim, why, f"pin to zone {target}", change)
        if cls.free_gib < claim.size_gib:
            why = (
                f"StorageClass {cls.ref.name} has {cls.free_gib:g} GiB free, the claim asks "
                f"{claim.size_gib:g} GiB"
            )
            alt = _alternative(now, zone, claim.size_gib, cls.ref.name)
            if alt is None:
                return self._detection(now, job, claim, why + "; add capacity", None, None)
            change = plan.Change(claim.ref, "storage_class", cls.ref.name, alt.ref.name)
            why += f"; use {alt.ref.name}"
            return self._detection(now, job, claim, why, f"use class {alt.ref.name}", change)
        return None

    @staticmethod
    def _zone_for(now: state.State, job: state.Job, cls: state.StorageClass) -> str | None:
        """A zone the class serves with enough GPUs in total for the job."""
        for zone in cls.zones:
            gpus = sum(n.gpus for n in now.nodes.values() if n.zone == zone and n.ready)
            if gpus >= job.gpus:
                return zone
        return None

    def _detection(
        self,
        now: state.State,
        job: state.Job,
        claim: state.Volume,
        why: str,
        action: str | None,
        change: plan.Change | None,
    ) -> rule.Detection:
        found = finding.Finding(
            self.name,
            claim.ref,
            finding.Severity.WARNING,
            f"{job.ref.name} waits on claim {claim.ref.name}: {why}.",
            (
                ("claim phase", claim.phase),
                ("storage class", claim.storage_class or "none"),
                ("size", f"{claim.size_gib:g}Gi"),
                ("pod zone", job.zone or "any"),
            ),
            now.time,
        )
        if action is None or change is None:
            return rule.Detection(found)
        effect = f"claim {claim.ref.name} binds and {job.ref.name} starts"
        return rule.Detection(
            found, plan.Plan(found, action, (change,), effect, self.verify_within)
        )

    def verify(self, done: plan.Plan, applied_at: float, now: state.State) -> rule.Verdict:
        """Worked once the claim is bound and its consumer started, or once nothing stands
        in the way of binding any more (a WaitForFirstConsumer claim binds only when its
        consumer gets GPUs, which may take a while on a busy cluster)."""
        claim = now.volumes.get(done.finding.subject)
        if claim is None:
            return rule.Verdict.FAILED
        consumers = [j for j in now.jobs.values() if j.volume == claim.ref.name]
        if claim.phase == "Bound" and any(j.phase in ("Running", "Succeeded") for j in consumers):
            return rule.Verdict.WORKED
        waiting = [j for j in consumers if j.phase == "Pending" and not j.suspend]
        blocked = any(self._diagnose(now, j, claim) is not None for j in waiting)
        return rule.Verdict.PENDING if blocked else rule.Verdict.WORKED
