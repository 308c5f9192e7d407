"""MIG layouts kept valid by a gang placer. The snapshot sees a MIG pod as a fraction of one
GPU (its compute slices over 7), which accepts layouts the hardware cannot build: a 3g.40gb
and a 3g.40gb leave 1 of 7 compute slices but none of the 8 memory slices, so a 1g.10gb
does not fit beside them. Beside the snapshot, `Record` keeps the instances on each GPU;
`MigAware` wraps a placer so that a gang's MIG pods only land where `mig.find_slot` gives
them a slot, charging the instances when it places and freeing them when it releases.

How: before placing, GPUs that cannot take any of the gang's MIG profiles (and, for a gang
with plain fractional pods, GPUs in MIG mode) are hidden from the wrapped placer; what it
then picks is checked pod by pod (several pods of one gang may share a GPU), and a GPU that
failed is hidden too before trying again, a few times at most. A GPU in MIG mode holds only
MIG instances, and a plain fractional pod only GPUs without any.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from k8s4ai.api import accelerator
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import gang, reasons, workload
from k8s4ai.scheduler.vram import mig

PLUGIN = "MigSlot"
ATTEMPTS = 4
"""Placements tried before a gang whose picks keep missing a slot is refused."""

Gpu = tuple[int, int]


@dataclass(slots=True)
class Record:
    """The MIG instances on each (snapshot row, GPU index), and where each pod's went."""

    geometries: Sequence[mig.Geometry | None]
    """Per snapshot row: the MIG profiles of its GPU class (None without a class)."""
    profiles: Mapping[str, str]
    """MIG profile of each MIG pod, by pod name."""
    layouts: dict[Gpu, mig.Layout] = field(default_factory=dict)
    owners: dict[str, tuple[Gpu, mig.Instance]] = field(default_factory=dict)
    last: dict[str, tuple[Gpu, mig.Instance]] = field(default_factory=dict)
    """Where each pod's instance was last, so that a restored what-if keeps its slot."""

    def layout(self, gpu: Gpu) -> mig.Layout:
        return self.layouts.get(gpu, ())

    def slot(self, gpu: Gpu, profile: str) -> int | None:
        """Where a new `profile` instance goes on `gpu` (None: nowhere); the caller checks
        that no pod other than MIG instances uses it."""
        geo = self.geometries[gpu[0]]
        if geo is None:
            return None
        try:
            return mig.find_slot(geo, self.layout(gpu), profile)
        except mig.UnknownProfileError:
            return None

    def add(self, name: str, gpu: Gpu, inst: mig.Instance) -> None:
        self.layouts[gpu] = mig.canonical((*self.layout(gpu), inst))
        self.owners[name] = self.last[name] = (gpu, inst)

    def remove(self, name: str, gpu: Gpu) -> None:
        owned = self.owners.get(name)
        if owned is None or owned[0] != gpu:
            return
        del self.owners[name]
        left = tuple(i for i in self.layout(gpu) if i != owned[1])
        if left:
            self.layouts[gpu] = left
        else:
            self.layouts.pop(gpu, None)

    def charge(self, name: str, gpu: Gpu) -> bool:
        """Create the pod's instance on `gpu`, if a slot is free there."""
        profile = self.profiles[name]
        start = self.slot(gpu, profile)
        if start is None:
            return False
        self.add(name, gpu, mig.Instance(profile, start))
        return True

    def recharge(self, name: str, gpu: Gpu) -> None:
        """Put back a pod a what-if released: at its old slot when still free (it never
        moved), else wherever one is (the placement that took its slot is not created
        yet), else at its old slot regardless — the snapshot already holds it there."""
        before = self.last.get(name)
        geo = self.geometries[gpu[0]]
        if before is not None and before[0] == gpu and geo is not None:
            inst = before[1]
            if inst.start in mig.free_starts(geo, self.layout(gpu), inst.profile):
                self.add(name, gpu, inst)
                return
        if not self.charge(name, gpu) and before is not None:
            self.add(name, gpu, before[1])

    def describe(self, gpu: Gpu) -> str:
        held = ", ".join(f"{i.profile}@{i.start}" for i in self.layout(gpu)) or "nothing"
        geo = self.geometries[gpu[0]]
        total = accelerator.MIG_MEMORY_SLICES
        used = "?" if geo is None else total - mig.free_memory_slices(geo, self.layout(gpu))
        return f"GPU {gpu[1]} holds {held} ({used} of {total} memory slices taken)"


class MigAware(gang.Placer):
    """A gang placer (mixed in before a concrete one) that keeps MIG layouts valid. Only
    the outermost call changes the record: what the wrapped placer does inside it (release
    a partial placement, place a gang's extra pods) is checked once it returns."""

    record: Record
    _inner: bool = False

    def key(self, job: workload.Workload) -> tuple[object, ...]:
        return (*super().key(job), tuple(self.record.profiles.get(p.name) for p in job.pods))

    def _mig(self, pod: pods.PodRequest) -> str | None:
        return self.record.profiles.get(pod.name)

    def _blocked(self, job: workload.Workload) -> list[Gpu]:
        """GPUs the job's pods may not use: for its MIG pods, those without a slot for any
        of its profiles or shared by plain fractional pods; for its plain fractional pods,
        those in MIG mode."""
        wanted = {name for p in job.pods if (name := self._mig(p)) is not None}
        plain = any(p.is_fractional and self._mig(p) is None for p in job.pods)
        snap, out = self.snap, []
        if wanted:
            partial = np.argwhere(snap.gpu_exists & (snap.gpu_free < pods.MILLI))
            for row, g in partial.tolist():
                gpu = (row, g)
                if gpu not in self.record.layouts or all(
                    self.record.slot(gpu, name) is None for name in wanted
                ):
                    out.append(gpu)
        if plain:
            out += [gpu for gpu in self.record.layouts if gpu not in out]
        return out

    @contextmanager
    def _hiding(self, gpus: Sequence[Gpu]) -> Iterator[None]:
        snap = self.snap
        if not gpus:
            yield
            return
        rows, cols = (np.array(x, dtype=np.int64) for x in zip(*gpus, strict=True))
        saved = snap.gpu_free[rows, cols].copy()
        snap.gpu_free[rows, cols] = 0
        _touch(snap, rows)
        try:
            yield
        finally:
            snap.gpu_free[rows, cols] = saved
            _touch(snap, rows)

    def _check(self, placed: Sequence[workload.Placed]) -> tuple[workload.Placed, Gpu] | None:
        """Charge the placed MIG pods' instances, or none and the first pod without a slot
        (a plain fractional pod put beside them counts as one)."""
        charged: list[tuple[str, Gpu]] = []
        bad: tuple[workload.Placed, Gpu] | None = None
        for p in placed:
            if not p.gpus:
                continue
            gpu = (p.node, p.gpus[0])
            if self._mig(p.pod) is not None:
                if self.record.charge(p.pod.name, gpu):
                    charged.append((p.pod.name, gpu))
                    continue
                bad = (p, gpu)
            elif p.pod.is_fractional and gpu in self.record.layouts:
                bad = (p, gpu)
            if bad is not None:
                break
        if bad is not None:
            for name, gpu in charged:
                self.record.remove(name, gpu)
        return bad

    def place(self, job: workload.Workload) -> list[workload.Placed] | gang.Refused:
        if self._inner:
            return super().place(job)
        blocked = self._blocked(job)
        if not blocked and not any(self._mig(p) for p in job.pods):
            return super().place(job)
        missed: tuple[workload.Placed, Gpu] | None = None
        for _ in range(ATTEMPTS):
            with self._hiding(blocked):
                self._inner = True
                try:
                    placed = super().place(job)
                finally:
                    self._inner = False
            if isinstance(placed, gang.Refused):
                return self._refusal(job, placed, blocked)
            missed = self._check(placed)
            if missed is None:
                return placed
            super().release(placed)
            blocked.append(missed[1])
        assert missed is not None
        return gang.Refused(self._no_slot(missed[0].pod, [missed[1]]))

    def place_pods(self, job: workload.Workload, count: int) -> list[workload.Placed]:
        if self._inner:
            return super().place_pods(job, count)
        with self._hiding(self._blocked(job)):
            self._inner = True
            try:
                placed = super().place_pods(job, count)
            finally:
                self._inner = False
        for index, p in enumerate(placed):
            if self._check([p]) is not None:
                super().release(placed[index:])
                return placed[:index]
        return placed

    def release(self, placed: Sequence[workload.Placed]) -> None:
        super().release(placed)
        if not self._inner:
            for p in placed:
                if p.gpus:
                    self.record.remove(p.pod.name, (p.node, p.gpus[0]))

    def restore(self, placed: Sequence[workload.Placed]) -> None:
        super().restore(placed)
        if not self._inner:
            for p in placed:
                if p.gpus and self._mig(p.pod) is not None:
                    self.record.recharge(p.pod.name, (p.node, p.gpus[0]))

    def resume(self, row: int, pod: pods.PodRequest) -> tuple[int, ...] | None:
        """GPUs for a MIG pod that a status says runs on node `row` (fullest GPU with a
        slot), charged on the snapshot and the record; None when none has one."""
        profile = self._mig(pod)
        assert profile is not None
        free = self.snap.gpu_free[row]
        order = sorted(range(int(self.snap.gpu_count[row])), key=lambda g: (int(free[g]), g))
        for g in order:
            gpu = (row, g)
            if free[g] < pod.gpu_milli or (free[g] < pods.MILLI and gpu not in self.record.layouts):
                continue
            if self.record.charge(pod.name, gpu):
                self.snap.assign(row, pod, (g,))
                return (g,)
        return None

    def _refusal(
        self, job: workload.Workload, refused: gang.Refused, blocked: Sequence[Gpu]
    ) -> gang.Refused:
        """The wrapped placer's refusal, unless a hidden GPU had the compute share a MIG pod
        needs: then the MIG layout is why, and the reason names profile, node and GPU."""
        if refused.reason.kind is reasons.Kind.UNSCHEDULABLE:
            return refused
        migs = [p for p in job.pods if self._mig(p) is not None]
        if not migs:
            return refused
        pod = min(migs, key=lambda p: p.gpu_milli)
        roomy = [g for g in blocked if self.snap.gpu_free[g] >= pod.gpu_milli]
        return gang.Refused(self._no_slot(pod, roomy)) if roomy else refused

    def _no_slot(self, pod: pods.PodRequest, gpus: Sequence[Gpu]) -> reasons.Reason:
        profile = self.record.profiles[pod.name]
        row, g = gpus[0]
        node = self.snap.names[row]
        return reasons.Reason(
            reasons.Kind.FRAGMENTATION,
            f"pod {pod.name} needs a MIG {profile} slot; node {node} has its compute share "
            f"free but no valid place for it: {self.record.describe((row, g))}"
            + (f" (and {len(gpus) - 1} more GPUs alike)" if len(gpus) > 1 else ""),
            PLUGIN,
            {"profile": profile, "node": node, "gpu": g},
        )


def _touch(snap: snapshot.ClusterSnapshot, rows: snapshot.IntArray) -> None:
    """Mark rows changed, so cached per-node verdicts are computed again."""
    snap.stamp += 1
    snap.changed_at[rows] = snap.stamp
