"""Fragmentation Gradient Descent (Weng et al., "Beware of Fragmentation", USENIX ATC'23).

A node's fragmentation is the GPU capacity that the workload's typical pods could not use
there, weighted by how common each typical pod is: for a pod type that fits the node, its
fragment is the free milli-GPU on GPUs too small for it; for one that cannot fit at all (too
few GPUs, too little CPU, a GPU model it refuses), all the node's free GPU is fragment. FGD
places each pod where it increases fragmentation least, and for a fractional pod on the GPU
that does.

The typical pods are the most common shapes of the workload that together cover 95% of its
pods, as the published evaluation builds them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from k8s4ai.scheduler import framework, pods, snapshot
from k8s4ai.scheduler.plugins import selectors

COVERAGE = 0.95


@dataclass(frozen=True, slots=True)
class TypicalPods:
    """Pod shapes and their probabilities; `access[t, m]` says if type t may use GPU model m
    (column -1, for nodes without GPUs, is never accessible)."""

    cpu_milli: npt.NDArray[np.int64]
    gpu_milli: npt.NDArray[np.int64]
    num_gpu: npt.NDArray[np.int64]
    access: npt.NDArray[np.bool_]
    weight: npt.NDArray[np.float64]

    @classmethod
    def from_workload(
        cls, workload: Sequence[pods.PodRequest], models: Sequence[str]
    ) -> TypicalPods:
        def key(p: pods.PodRequest) -> tuple[int, int, int, str]:
            return (p.cpu_milli, p.gpu_milli, p.num_gpu, "|".join(sorted(p.gpu_models or ())))

        counts = Counter(key(p) for p in workload)
        ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        chosen, covered = [], 0
        for shape, count in ordered:
            chosen.append(shape)
            covered += count
            if covered >= COVERAGE * len(workload):
                break
        weight = np.array([counts[s] for s in chosen], dtype=np.float64) / covered
        access = np.zeros((len(chosen), len(models) + 1), dtype=bool)
        for t, (_, _, _, spec) in enumerate(chosen):
            allowed = set(spec.split("|")) if spec else set(models)
            access[t, : len(models)] = [m in allowed for m in models]
        return cls(
            cpu_milli=np.array([s[0] for s in chosen], dtype=np.int64),
            gpu_milli=np.array([s[1] for s in chosen], dtype=np.int64),
            num_gpu=np.array([s[2] for s in chosen], dtype=np.int64),
            access=access,
            weight=weight,
        )

    def fragmentation(
        self,
        free: npt.NDArray[np.int64],
        cpu_free: npt.NDArray[np.int64],
        model: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.float64]:
        """Expected fragment (milli-GPU) per state; `free` is (..., GPUs), the rest (...)."""
        left = free.sum(axis=-1)
        fits_gpu = free[..., None] >= self.gpu_milli  # (..., GPUs, T)
        enough = fits_gpu.sum(axis=-2) >= self.num_gpu  # (..., T)
        small = np.where(fits_gpu, 0, free[..., None]).sum(axis=-2)  # (..., T)
        usable = (
            enough
            & (cpu_free[..., None] >= self.cpu_milli)
            & np.moveaxis(self.access[:, model], 0, -1)
            & (self.gpu_milli > 0)
        )
        frag = np.where(usable, small, left[..., None])
        result: npt.NDArray[np.float64] = frag @ self.weight
        return result


def _after_whole(free: npt.NDArray[np.int64], count: int) -> npt.NDArray[np.int64]:
    """Free GPUs after the `count` lowest-index whole GPUs of each node are taken."""
    whole = free == pods.MILLI
    taken = whole & (np.cumsum(whole, axis=-1) <= count)
    result: npt.NDArray[np.int64] = np.where(taken, 0, free)
    return result


def _sigmoid_score(delta: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The published score: trunc(100 · sigmoid(−Δfragmentation / 1000))."""
    scores: npt.NDArray[np.float64] = np.trunc(100 / (1 + np.exp(delta / 1000)))
    return scores


class FragmentationGradient:
    """Score and GPU choice of FGD; both evaluate every GPU a fractional pod fits on."""

    name = "FGD"
    node_local = True

    def __init__(self, typical: TypicalPods) -> None:
        self.typical = typical

    def _candidates(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Score per node and the GPU a fractional pod would take there (-1 otherwise)."""
        free, cpu, model = snap.gpu_free[nodes], snap.cpu_free[nodes], snap.node_model[nodes]
        before = self.typical.fragmentation(free, cpu, model)
        cpu_after = cpu - pod.cpu_milli
        if not pod.is_fractional:
            after = self.typical.fragmentation(_after_whole(free, pod.num_gpu), cpu_after, model)
            return _sigmoid_score(after - before), np.full(len(nodes), -1)
        width = free.shape[1]
        variants = np.repeat(free[:, None, :], width, axis=1)  # (nodes, choice, GPUs)
        index = np.arange(width)
        variants[:, index, index] -= pod.gpu_milli
        after = self.typical.fragmentation(
            variants,
            np.repeat(cpu_after[:, None], width, axis=1),
            np.repeat(model[:, None], width, axis=1),
        )
        scores = _sigmoid_score(after - before[:, None])
        scores = np.where(free >= pod.gpu_milli, scores, -1.0)
        best = np.argmax(scores, axis=1)
        return scores[np.arange(len(nodes)), best], best

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        return self._candidates(snap, pod, nodes)[0]

    def select(
        self, snap: snapshot.ClusterSnapshot, node: int, pod: pods.PodRequest
    ) -> tuple[int, ...]:
        if not pod.is_fractional:
            return selectors.lowest_free(snap, node, pod.num_gpu)
        _, gpu = self._candidates(snap, pod, np.array([node]))
        return (int(gpu[0]),)
