"""A simulated cluster for remediation: gangs that make progress and checkpoint, nodes in
zones, claims and storage classes, on the discrete-event kernel. It is a `world.World`, so
the remediation engine reads and patches it exactly as it would the store.

What a job really does (its true memory need, where it crashes, how long it runs) lives in
`Truth`, which the rules never see: they read only the `state` records a runtime would
report. The world reacts to patched fields the way controllers would: a Failed or Running
job set back to Pending resumes from its last checkpoint, a suspended job gives its GPUs
back, a claim with a usable class binds when its consumer is placed. `incident_faults` adds
the faults, `incidents` runs the month.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

from k8s4ai.backends.sim import incident_services, incident_truth, kernel
from k8s4ai.remediation import plan, state

GPUS_PER_NODE = 8
EVENTS_KEPT = 2 * 86400.0
KEEP_FINISHED = 12 * 3600.0
"""Finished jobs stay visible this long, so a fix's verification can see them succeed."""
ABANDON_FAILED = 24 * 3600.0
"""A job still Failed this long after it failed is deleted by its owner."""
INCIDENT_KINDS = {
    ("oom", "OOMKilled"): "oom",
    ("transient", "Error"): "crash",
    ("bug", "Error"): "crash-permanent",
    ("hardware", "Error"): "hardware-signal",
    ("hardware", "GPUError"): "hardware",
    ("hardware", "NodeLost"): "hardware",
}
"""The incident a failure opens, by (true cause, reported reason)."""


class SimWorld:
    def __init__(self, seed: int, tick: float = 300.0) -> None:
        self.kernel = kernel.Kernel(seed)
        self.tick = tick
        self.jobs: dict[state.Ref, state.Job] = {}
        self.truth: dict[state.Ref, incident_truth.Truth] = {}
        self.nodes: dict[state.Ref, state.Node] = {}
        self.free: dict[str, int] = {}
        self.classes: dict[state.Ref, state.StorageClass] = {}
        self.volumes: dict[state.Ref, state.Volume] = {}
        self.services: dict[state.Ref, incident_services.ServiceSim] = {}
        self.events: deque[state.Event] = deque()
        self.flaky: set[str] = set()
        self.book = incident_truth.Book()
        self.lost_gpu_seconds = 0.0
        self.idle_gpu_seconds = 0.0
        self.completed = 0
        self._pending: dict[state.Ref, None] = {}
        self._finished: deque[tuple[float, state.Ref]] = deque()

    # building

    def add_node(self, name: str, zone: str, memory_mib: float, gpus: int = GPUS_PER_NODE) -> None:
        ref = state.Ref(state.NODE, "", name)
        self.nodes[ref] = state.Node(ref, gpus, memory_mib, zone)
        self.free[name] = gpus

    def add_class(self, cls: state.StorageClass) -> None:
        self.classes[cls.ref] = cls

    def add_volume(self, claim: state.Volume) -> None:
        self.volumes[claim.ref] = claim

    def submit(self, job: state.Job, truth: incident_truth.Truth) -> None:
        self.jobs[job.ref] = job
        self.truth[job.ref] = truth
        if job.phase == "Pending":
            self._pending[job.ref] = None
            self.schedule()

    # the World protocol

    def snapshot(self) -> state.State:
        now = self.kernel.now
        jobs = {ref: self._current(job) for ref, job in self.jobs.items()}
        while self.events and self.events[0].time < now - EVENTS_KEPT:
            self.events.popleft()
        return state.State(
            now,
            jobs,
            dict(self.nodes),
            dict(self.classes),
            dict(self.volumes),
            {ref: s.record() for ref, s in self.services.items()},
            tuple(self.events),
        )

    def apply(self, changes: Sequence[plan.Change]) -> None:
        grouped: dict[state.Ref, dict[str, plan.Value]] = {}
        for change in changes:
            grouped.setdefault(change.ref, {})[change.field] = change.after
        for ref, fields in grouped.items():
            if ref.kind == state.JOB:
                self._patch_job(ref, fields)
            elif ref.kind == state.NODE:
                self.nodes[ref] = replace(self.nodes[ref], **fields)  # type: ignore[arg-type]
                if self.nodes[ref].unschedulable:
                    self.recover(ref, ("flaky-node",))
            elif ref.kind == state.VOLUME:
                self.volumes[ref] = replace(self.volumes[ref], **fields)  # type: ignore[arg-type]
            elif ref.kind == state.SERVICE:
                self.services[ref].scale(int(fields["replicas"] or 0))
            else:
                raise ValueError(f"the simulator cannot patch {ref}")
        self.schedule()

    # job lifecycle

    def _current(self, job: state.Job) -> state.Job:
        if job.phase != "Running":
            return job
        t = self.truth[job.ref]
        progress = t.progress0 + self.kernel.now - t.started
        return replace(job, progress=progress, checkpoint_progress=self._checkpoint(t, progress))

    @staticmethod
    def _checkpoint(t: incident_truth.Truth, progress: float) -> float | None:
        done = math.floor(progress / t.checkpoint_every) * t.checkpoint_every
        return done if done > 0 else None

    def _patch_job(self, ref: state.Ref, fields: dict[str, plan.Value]) -> None:
        old = self._current(self.jobs[ref])
        new = replace(old, **fields)  # type: ignore[arg-type]
        disrupted = (
            new.phase != "Running"
            or new.suspend
            or new.memory_mib != old.memory_mib
            or new.zone != old.zone
        )
        if old.phase == "Running" and disrupted:
            self._stop(old)
            if new.suspend:
                self.recover(ref, ("idle-notebook",))
            resumed = "Pending" if new.phase == "Running" else new.phase
            new = replace(new, phase=resumed, nodes=(), progress=old.checkpoint_progress or 0.0)
        elif old.phase in ("Failed", "Succeeded") and new.phase == "Pending":
            start = 0.0 if old.phase == "Succeeded" else old.checkpoint_progress or 0.0
            new = replace(new, progress=start, checkpoint_progress=start or None)
        if new.phase == "Pending":
            new = replace(new, reason=None, exit_code=None)
            self._pending[ref] = None
        self.jobs[ref] = new

    def schedule(self) -> None:
        usable = [n for n in self.nodes.values() if n.ready and not n.unschedulable]
        most = max((self.free[n.ref.name] for n in usable), default=0)
        for ref in list(self._pending):
            job = self.jobs.get(ref)
            if job is None or job.phase != "Pending":
                del self._pending[ref]
                continue
            if most == 0:
                return
            if job.suspend or (job.gpus <= GPUS_PER_NODE and job.gpus > most):
                continue
            nodes = self._place(job, usable)
            if nodes is not None:
                del self._pending[ref]
                self._start(job, nodes)
                most = max((self.free[n.ref.name] for n in usable), default=0)

    def _place(self, job: state.Job, usable: list[state.Node]) -> tuple[str, ...] | None:
        claim = self._claim(job)
        zones = self._zones(job, claim)
        if zones is not None and not zones:
            return None
        if claim is not None and claim.attached_node is not None:
            holder = self.node(claim.attached_node)
            if holder is not None and not holder.ready:
                return None
        fits = [
            n
            for n in usable
            if (zones is None or n.zone in zones) and n.memory_mib >= job.memory_mib
        ]
        if job.gpus <= GPUS_PER_NODE:
            best = min(
                (n for n in fits if self.free[n.ref.name] >= job.gpus),
                key=lambda n: (self.free[n.ref.name], n.ref.name),
                default=None,
            )
            return None if best is None else (best.ref.name,)
        whole = [n.ref.name for n in fits if self.free[n.ref.name] == n.gpus]
        count = math.ceil(job.gpus / GPUS_PER_NODE)
        return tuple(whole[:count]) if len(whole) >= count else None

    def _claim(self, job: state.Job) -> state.Volume | None:
        if job.volume is None:
            return None
        return self.volumes.get(state.Ref(state.VOLUME, job.ref.namespace, job.volume))

    def _zones(self, job: state.Job, claim: state.Volume | None) -> set[str] | None:
        """Zones the job may run in; an empty set when its claim cannot bind anywhere."""
        allowed: set[str] | None = None if job.zone is None else {job.zone}
        if claim is None:
            return allowed
        if claim.phase == "Bound":
            return {claim.zone or ""} & allowed if allowed is not None else {claim.zone or ""}
        cls = self.classes.get(state.Ref(state.STORAGE_CLASS, "", claim.storage_class or ""))
        if cls is None or cls.free_gib < claim.size_gib:
            return set()
        if cls.zones:
            allowed = set(cls.zones) if allowed is None else allowed & set(cls.zones)
        return allowed

    def node(self, name: str) -> state.Node | None:
        return self.nodes.get(state.Ref(state.NODE, "", name))

    def _start(self, job: state.Job, nodes: tuple[str, ...]) -> None:
        now = self.kernel.now
        for name in nodes:
            self.free[name] -= min(job.gpus, GPUS_PER_NODE)
        claim = self._claim(job)
        if claim is not None:
            self._bind(claim, nodes[0])
        t = self.truth[job.ref]
        t.started, t.progress0 = now, job.progress
        if job.workload != "training" and t.idle_after is None:
            t.idle_after = now + t.active_for
            ref = job.ref
            self.kernel.at(
                t.idle_after,
                lambda k: self.open(incident_truth.Incident("idle-notebook", ref, k.now)),
            )
            self.kernel.at(t.idle_after + t.away_for, lambda k: self._close_notebook(ref))
        self.jobs[job.ref] = replace(job, phase="Running", nodes=nodes, started_at=now)
        ends: list[tuple[float, str, str | None, int | None, str | None]] = [
            (t.work - job.progress, "Succeeded", None, None, None)
        ]
        if job.memory_mib < t.need_mib and job.progress < t.oom_at:
            ends.append((t.oom_at - job.progress, "Failed", "OOMKilled", 137, "oom"))
        crash = t.crash_at
        if crash is not None and job.progress < crash and (t.crash_permanent or not t.crashed):
            cause = "bug" if t.crash_permanent else "transient"
            ends.append((crash - job.progress, "Failed", "Error", t.crash_code, cause))
        after, phase, reason, code, why = min(ends, key=lambda e: e[0])
        if math.isfinite(after):
            ref = job.ref
            t.handles.append(
                self.kernel.after(
                    after, lambda k: self._end(ref, phase, reason, code, None, why)
                )
            )
        self.recover(job.ref, ("idle-notebook", "crash-permanent", "drift"), exclude=True)
        if claim is not None:
            self.recover(claim.ref, ("claim", "stuck-volume"))
        for service in self.services.values():
            if service.retrain_job == job.ref.name and service.ref.namespace == job.ref.namespace:
                self.recover(service.ref, ("drift",))

    @property
    def incidents(self) -> list[incident_truth.Incident]:
        return self.book.incidents

    def open(self, incident: incident_truth.Incident) -> None:
        self.book.open(incident)

    def recover(self, ref: state.Ref, kinds: Sequence[str], exclude: bool = False) -> None:
        self.book.recover(ref, kinds, self.kernel.now, exclude)

    def is_open(self, ref: state.Ref, kind: str) -> bool:
        return self.book.is_open(ref, kind)

    def _close_notebook(self, ref: state.Ref) -> None:
        """The user is back and ends the session, whatever state it is in."""
        job = self.jobs.get(ref)
        if job is None:
            return
        if job.phase == "Running":
            self._stop(self._current(job))
        del self.jobs[ref]
        del self.truth[ref]
        self.recover(ref, ("idle-notebook",))

    def _bind(self, claim: state.Volume, node_name: str) -> None:
        node = self.node(node_name)
        assert node is not None
        if claim.phase == "Pending":
            cls_ref = state.Ref(state.STORAGE_CLASS, "", claim.storage_class or "")
            cls = self.classes[cls_ref]
            self.classes[cls_ref] = replace(cls, free_gib=cls.free_gib - claim.size_gib)
        self.volumes[claim.ref] = replace(
            claim, phase="Bound", zone=node.zone, attached_node=node_name
        )

    def _stop(self, job: state.Job) -> None:
        """Free the GPUs of a running job (its record is the caller's to update) and charge
        the GPU-hours since its last checkpoint as lost."""
        t = self.truth[job.ref]
        for handle in t.handles:
            handle.cancel()
        t.handles.clear()
        for name in job.nodes:
            self.free[name] += min(job.gpus, GPUS_PER_NODE)
        current = self._current(job)
        if job.workload == "training":
            kept = current.checkpoint_progress or 0.0
            self.lost_gpu_seconds += (current.progress - kept) * job.gpus
        claim = self._claim(job)
        if claim is not None and claim.attached_node is not None:
            holder = self.node(claim.attached_node)
            if holder is not None and holder.ready:
                self.volumes[claim.ref] = replace(claim, attached_node=None)

    def _end(
        self,
        ref: state.Ref,
        phase: str,
        reason: str | None,
        code: int | None,
        node: str | None,
        cause: str | None = None,
    ) -> None:
        """`cause` is the true one ("oom", "bug", "transient", "hardware"), kept in `Truth`
        for the benchmark's judge; the job's record says only what a runtime would."""
        job = self._current(self.jobs[ref])
        t = self.truth[ref]
        self._stop(job)
        now = self.kernel.now
        if phase == "Succeeded":
            self.completed += 1
            self.jobs[ref] = replace(job, phase="Succeeded", nodes=(), progress=t.work)
            if job.workload == "training" and not ref.name.endswith("-retrain"):
                self._finished.append((now, ref))
        else:
            t.crashed = t.crashed or cause == "transient"
            t.last_cause = cause
            peak = job.memory_mib if reason == "OOMKilled" else job.peak_memory_mib
            self.jobs[ref] = replace(
                job,
                phase="Failed",
                nodes=(),
                failed_on=job.nodes,
                reason=reason,
                exit_code=code,
                failed_at=now,
                peak_memory_mib=peak,
            )
            for name in job.nodes if node is None else (node,):
                self.events.append(
                    state.Event(
                        now, ref, reason or "Failed", f"exit code {code}", name, exit_code=code
                    )
                )
            self.open(incident_truth.Incident(INCIDENT_KINDS[cause or "", reason or ""], ref, now))
        self.schedule()

    def fail_node(self, name: str, reason: str) -> None:
        """Every job running on the node fails with a platform reason."""
        for job in [j for j in self.jobs.values() if j.phase == "Running" and name in j.nodes]:
            self._end(job.ref, "Failed", reason, None, name, "hardware")

    def crash_node(self, name: str, exit_code: int) -> None:
        """Bad hardware the platform does not see: every job running on the node dies by a
        signal its own process raised (a memory error delivered as SIGBUS, a corrupted value
        that segfaults), with no hardware event."""
        for job in [j for j in self.jobs.values() if j.phase == "Running" and name in j.nodes]:
            self._end(job.ref, "Failed", "Error", exit_code, None, "hardware")

    def sample(self) -> None:
        """Once per tick: notebook utilisation, idle GPU-seconds and the services."""
        now = self.kernel.now
        while self._finished and self._finished[0][0] < now - KEEP_FINISHED:
            ref = self._finished.popleft()[1]
            if ref in self.jobs and self.jobs[ref].phase == "Succeeded":
                del self.jobs[ref]
                del self.truth[ref]
        gone = [
            ref
            for ref, job in self.jobs.items()
            if job.phase == "Failed" and (job.failed_at or now) < now - ABANDON_FAILED
        ]
        for ref in gone:
            del self.jobs[ref]
            del self.truth[ref]
        for job in self.jobs.values():
            if job.workload == "training" or job.phase != "Running":
                continue
            t = self.truth[job.ref]
            idle = t.idle_after is not None and now >= t.idle_after
            busy = 0.0 if idle else (0.01 if int(now // self.tick) % 4 == 0 else 0.55)
            if idle:
                self.idle_gpu_seconds += job.gpus * self.tick
            kept = tuple(u for u in job.utilisation if u[0] > now - 3 * 3600.0)
            self.jobs[job.ref] = replace(job, utilisation=(*kept, (now, busy)))
        for service in self.services.values():
            service.sample(now, self.tick)
