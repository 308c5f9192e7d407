"""Which GPUs of the chosen node a pod takes. Whole-GPU pods always take the lowest-index
free GPUs; policies differ only in where a fractional pod lands."""

from __future__ import annotations

import numpy as np

from k8s4ai.scheduler import pods, snapshot


def lowest_free(snap: snapshot.ClusterSnapshot, node: int, count: int) -> tuple[int, ...]:
    free = np.flatnonzero(snap.gpu_free[node] == pods.MILLI)
    return tuple(int(g) for g in free[:count])


class BestFitGpu:
    """A fractional pod goes to the fitting GPU with the least room left (lowest index on a
    tie), keeping emptier GPUs whole for larger requests."""

    def select(
        self, snap: snapshot.ClusterSnapshot, node: int, pod: pods.PodRequest
    ) -> tuple[int, ...]:
        if not pod.is_fractional:
            return lowest_free(snap, node, pod.num_gpu)
        free = np.where(
            snap.gpu_free[node] >= pod.gpu_milli, snap.gpu_free[node], np.iinfo(np.int64).max
        )
        return (int(np.argmin(free)),)


class RandomGpu:
    """A fractional pod goes to any GPU it fits on, uniformly."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def select(
        self, snap: snapshot.ClusterSnapshot, node: int, pod: pods.PodRequest
    ) -> tuple[int, ...]:
        if not pod.is_fractional:
            return lowest_free(snap, node, pod.num_gpu)
        fitting = np.flatnonzero(snap.gpu_free[node] >= pod.gpu_milli)
        return (int(fitting[self._rng.integers(len(fitting))]),)
