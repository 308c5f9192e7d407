"""The five baseline policies of the FGD paper's evaluation (Weng et al., ATC'23, §6), as
score plugins. Each is node-local: a node's score depends on that node and the pod only.

Scores are integers in [0, 100], truncated as the published simulator truncates them, because
the truncation decides which nodes tie and ties are broken at random.
"""

from __future__ import annotations

import numpy as np

from k8s4ai.scheduler import framework, pods, snapshot
from k8s4ai.scheduler.plugins import shared


class RandomScore:
    """A fresh uniform draw per node and pod, so the best node is uniform over feasible ones."""

    name = "Random"
    node_local = False

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        scores: framework.FloatArray = self._rng.random(len(nodes)) * framework.MAX_SCORE
        return scores


class DotProductScore:
    """Tetris-style alignment of the pod's demand with the node's free CPU and GPU (one merged
    GPU dimension): a smaller dot product scores higher."""

    name = "DotProduct"
    node_local = True

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        cpu = snap.cpu_free[nodes] / shared.MAX_NODE_CPU_MILLI
        gpu = snap.gpu_left_on(nodes) / shared.MAX_NODE_GPU_MILLI
        dot = cpu * (pod.cpu_milli / shared.MAX_NODE_CPU_MILLI) + gpu * (
            pod.gpu_request_milli / shared.MAX_NODE_GPU_MILLI
        )
        scores: framework.FloatArray = np.trunc(100 * (1 - dot / 2))
        return scores


class GpuClusteringScore:
    """Keeps pods of one GPU shape together: a node already running only this shape scores
    highest, an empty node next, then mixed nodes; fuller nodes win within each band."""

    name = "GpuClustering"
    node_local = True

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        if pod.num_gpu == 0:
            return np.zeros(len(nodes))
        base = (
            25 * (shared.MAX_NODE_GPU_MILLI - snap.gpu_left_on(nodes))
        ) // shared.MAX_NODE_GPU_MILLI
        shapes = snap.shape_counts[nodes] > 0
        kinds = shapes.sum(axis=1)
        mine = shapes[:, 0 if pod.is_fractional else pod.num_gpu]
        bonus = np.select(
            [mine & (kinds == 1), mine & (kinds > 1), ~mine & (kinds == 0)], [75, 50, 25], 0
        )
        scores: framework.FloatArray = (base + bonus).astype(np.float64)
        return scores


class GpuPackingScore:
    """Prefers GPUs already in use: first partly used GPUs (the fuller the better), then nodes
    with some GPUs busy, then untouched nodes."""

    name = "GpuPacking"
    node_local = True

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        if pod.num_gpu == 0:
            return np.zeros(len(nodes))
        free = snap.gpu_free[nodes]
        exists = snap.gpu_exists[nodes]
        count = snap.gpu_count[nodes]
        full = snap.full_gpus(nodes)
        untouched = full == count
        # Fitting GPUs in ascending free order; the pod takes the first num_gpu of them.
        fitting = np.where(exists & (free >= pod.gpu_milli), free, np.iinfo(np.int64).max)
        taken = np.sort(fitting, axis=1)[:, : pod.num_gpu]
        used_full = (taken == pods.MILLI).sum(axis=1)
        partial = 100 - ((taken * 100) // pods.MILLI).sum(axis=1) // 10
        scores = np.where(
            untouched,
            np.maximum(33 - full, full),
            np.where(used_full > 0, np.maximum(50 - used_full, 33), np.maximum(partial, 50)),
        )
        result: framework.FloatArray = scores.astype(np.float64)
        return result


class BestFitScore:
    """Leaves the least CPU and GPU free after placement (equal weights). The published
    simulator then min-max normalises over feasible nodes, which keeps the same best nodes;
    the raw score is kept here so it stays node-local and comparable across pods."""

    name = "BestFit"
    node_local = True

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        left = (
            0.5 * (snap.cpu_free[nodes] - pod.cpu_milli) / shared.MAX_NODE_CPU_MILLI
            + 0.5 * (snap.gpu_left_on(nodes) - pod.gpu_request_milli) / shared.MAX_NODE_GPU_MILLI
        )
        scores: framework.FloatArray = np.trunc(100 * (1 - left))
        return scores
