"""All-or-nothing placement of a gang on the snapshot, and the what-ifs admission needs
(release victims, hold capacity for a reservation), each returning the function that undoes
it. Pods are placed by the same plugin runtime as single pods, with a best-fit profile so
gangs pack onto busy nodes and leave whole nodes free for the next large gang."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from k8s4ai.scheduler import framework, pods, snapshot
from k8s4ai.scheduler.admission import reasons, workload
from k8s4ai.scheduler.plugins import baselines, fit, selectors

Undo = Callable[[], None]


def profile() -> framework.Profile:
    return framework.Profile(
        "gang-bestfit", fit.FILTERS, ((baselines.BestFitScore(), 1.0),), selectors.BestFitGpu()
    )


@dataclass(frozen=True, slots=True)
class Refused:
    reason: reasons.Reason


def told_to(
    job: workload.Workload, reason: reasons.Reason, given: workload.Workload
) -> reasons.Reason:
    """A refusal `given` had, for `job`, whose pods are of the same shapes in the same
    order: a pod it names is `job`'s own."""
    message = reason.message
    for theirs, mine in zip(given.pods, job.pods, strict=True):
        message = message.replace(f"pod {theirs.name} ", f"pod {mine.name} ")
    return reason if message == reason.message else dataclasses.replace(reason, message=message)


class Placer:
    """Places gangs on one snapshot and classifies why one does not fit."""

    def __init__(self, snap: snapshot.ClusterSnapshot, rng: np.random.Generator) -> None:
        self.snap = snap
        self.runtime = framework.Runtime(profile(), rng)

    def free_gpus(self, pod: pods.PodRequest | None = None) -> float:
        """Free GPUs (whole-GPU equivalents) on nodes whose model the pod accepts."""
        free = self.snap.gpu_free
        if pod is not None and pod.num_gpu and pod.gpu_models is not None:
            free = free[self.snap.allowed_models(pod)]
        return float(free.sum()) / pods.MILLI

    def key(self, job: workload.Workload) -> tuple[object, ...]:
        """All of `job` that `place` depends on: on the same snapshot, jobs with equal keys
        get the same answer, so a cycle asks once per key between two admissions."""
        return (tuple(p.shape for p in job.pods), job.gang_size)

    def place(self, job: workload.Workload) -> list[workload.Placed] | Refused:
        """Place at least `gang_size` of the job's pods (all that fit, up to all of them), or
        none at all."""
        placed: list[workload.Placed] = []
        order = sorted(job.pods, key=lambda p: -p.gpu_request_milli)
        refusal: framework.Refusal | None = None
        for index, pod in enumerate(order):
            result = self.runtime.place(self.snap, pod)
            if isinstance(result, framework.Refusal):
                refusal = refusal or result
                if len(placed) + len(order) - index - 1 < job.gang_size:
                    break
                continue
            placed.append(workload.Placed(pod, result.node, result.gpus))
        if len(placed) >= job.gang_size:
            return placed
        self.release(placed)
        assert refusal is not None
        return Refused(self.classify(job, refusal))

    def place_pods(self, job: workload.Workload, count: int) -> list[workload.Placed]:
        """Place up to `count` more of the job's pods one by one, keeping what fits: the
        Kubernetes default scheduler's behaviour, which gangs exist to avoid."""
        placed: list[workload.Placed] = []
        for pod in job.pods[len(job.pods) - count :]:
            result = self.runtime.place(self.snap, pod)
            if isinstance(result, framework.Refusal):
                break
            placed.append(workload.Placed(pod, result.node, result.gpus))
        return placed

    def release(self, placed: Sequence[workload.Placed]) -> None:
        for p in placed:
            self.snap.release(p.node, p.pod, p.gpus)

    def restore(self, placed: Sequence[workload.Placed]) -> None:
        for p in placed:
            self.snap.assign(p.node, p.pod, p.gpus)

    def without(self, placed: Sequence[workload.Placed]) -> Undo:
        """What-if: these pods are gone. Returns the undo."""
        self.release(placed)
        return lambda: self.restore(placed)

    def hold(self, job: workload.Workload) -> Undo:
        """Reserve for `job` the nodes it would most quickly fit on (most free GPUs of an
        accepted model), so later jobs in the cycle cannot take them. Returns the undo."""
        pod = max(job.pods, key=lambda p: p.gpu_request_milli)
        allowed = self.snap.allowed_models(pod) & (self.snap.gpu_count > 0)
        free = np.where(allowed, (self.snap.gpu_free == pods.MILLI).sum(axis=1), -1)
        nodes = np.argsort(-free, kind="stable")[: len(job.pods)]
        held: list[workload.Placed] = []
        for node in nodes.tolist():
            gpus = tuple(np.flatnonzero(self.snap.gpu_free[node] == pods.MILLI).tolist())
            if not gpus:
                continue
            phantom = pods.PodRequest(f"{job.name}/reserved", 0, 0, len(gpus), pods.MILLI)
            self.snap.assign(node, phantom, gpus)
            held.append(workload.Placed(phantom, node, gpus))
        return lambda: self.release(held)

    def classify(self, job: workload.Workload, refusal: framework.Refusal) -> reasons.Reason:
        pod = refusal.pod
        if refusal.plugin == fit.GpuModel.name:
            return reasons.Reason(reasons.Kind.UNSCHEDULABLE, refusal.reason, refusal.plugin)
        snap = self.snap
        allowed = snap.allowed_models(pod)
        if pod.num_gpu:
            allowed &= snap.gpu_count > 0
        large = allowed & (snap.gpu_count >= pod.num_gpu)
        if not large.any():
            largest = int(snap.gpu_count[allowed].max(initial=0))
            return reasons.Reason(
                reasons.Kind.UNSCHEDULABLE,
                f"pod {pod.name} needs {pod.num_gpu} GPUs on one node; the largest node it may "
                f"use has {largest}",
                fit.GpuFit.name,
            )
        roomy = (
            large & (snap.cpu_capacity >= pod.cpu_milli) & (snap.memory_capacity >= pod.memory_mib)
        )
        if not roomy.any():
            return reasons.Reason(
                reasons.Kind.UNSCHEDULABLE,
                f"pod {pod.name} needs {pod.cpu_milli}m CPU and {pod.memory_mib}Mi memory beside "
                f"its {pod.num_gpu} GPUs; no node it may use has that much",
                fit.ResourceFit.name,
            )
        need = (
            job.gpus
            if job.min_member is None
            else sum(
                p.gpu_request_milli
                for p in sorted(job.pods, key=lambda p: -p.gpu_request_milli)[: job.gang_size]
            )
            / pods.MILLI
        )
        free = self.free_gpus(pod)
        details: dict[str, float | str] = {"needGpus": need, "freeGpus": free}
        if free + 1e-9 >= need:
            return reasons.Reason(
                reasons.Kind.FRAGMENTATION,
                f"{free:g} GPUs are free but scattered: no set of nodes holds {job.gang_size} "
                f"pods of {pod.num_gpu} GPUs ({refusal.reason})",
                refusal.plugin,
                details,
            )
        return reasons.Reason(
            reasons.Kind.GANG_CANNOT_FIT,
            f"needs {need:g} GPUs for {job.gang_size} pods at once; {free:g} are free",
            refusal.plugin,
            details,
        )


class Room:
    """Whole free GPUs per node, kept up to date as a preemption what-if releases victims.
    A pod of k whole GPUs needs a node with k of them free, so a gang whose pods cannot be
    counted into those nodes would be refused by `Placer.place`: checking the count first
    spares the what-if most placement attempts, which on a full cluster almost all fail."""

    def __init__(self, snap: snapshot.ClusterSnapshot, job: workload.Workload) -> None:
        self.snap = snap
        # Any gang_size pods that fit leave the gang_size smallest fitting by count too.
        smallest = sorted(job.pods, key=lambda p: p.gpu_request_milli)[: job.gang_size]
        whole = [p for p in smallest if p.num_gpu and p.gpu_milli == pods.MILLI]
        self.need = {t: sum(p.num_gpu >= t for p in whole) for t in {p.num_gpu for p in whole}}
        self.allowed: snapshot.BoolArray | None = None
        if whole and all(p.gpu_models is not None for p in whole):
            self.allowed = np.zeros(len(snap), dtype=bool)
            for p in {p.gpu_models: p for p in whole}.values():
                self.allowed |= snap.allowed_models(p)
        self.whole = self._masked(snap.full_gpus()) if self.need else snap.gpu_count * 0
        self.room = {t: int((self.whole // t).sum()) for t in self.need}

    def _masked(self, whole: snapshot.IntArray) -> snapshot.IntArray:
        return whole if self.allowed is None else np.where(self.allowed, whole, 0)

    def fits(self) -> bool:
        return all(self.room[t] >= count for t, count in self.need.items())

    def fits_without(self, placed: Iterable[workload.Placed]) -> bool:
        """Whether the gang could fit by count if all of `placed` left. An upper bound: a
        GPU shared by fractional pods counts as whole once any of them leaves."""
        if not self.need:
            return True
        released = [(p.node, p.pod.num_gpu) for p in placed]
        if not released:
            return self.fits()
        nodes, gpus = zip(*released, strict=True)
        more = np.zeros_like(self.whole)
        np.add.at(more, list(nodes), list(gpus))
        whole = self._masked(np.minimum(self.whole + more, self.snap.gpu_count))
        return all(int((whole // t).sum()) >= count for t, count in self.need.items())

    def release(self, placed: Iterable[workload.Placed]) -> None:
        """`placed` has just been released from the snapshot."""
        if not self.need:
            return
        for node in {p.node for p in placed}:
            if self.allowed is not None and not self.allowed[node]:
                continue
            before = int(self.whole[node])
            after = int((self.snap.gpu_free[node] == pods.MILLI).sum())
            self.whole[node] = after
            for t in self.room:
                self.room[t] += after // t - before // t
