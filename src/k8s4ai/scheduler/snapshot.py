"""The cluster as arrays, so filters and scores run over thousands of nodes in a few numpy
operations instead of a Python loop per node.

GPUs are a (nodes × max GPUs per node) matrix of free milli-GPU; slots beyond a node's GPU
count hold 0 and are never chosen, because they are also masked by `gpu_exists`.

Every change stamps the node (`changed_at`), so per-node results (filters, scores) computed
at an earlier stamp can be reused for every node that has not changed since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from k8s4ai.scheduler import pods

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class NodeSpec:
    name: str
    cpu_milli: int
    memory_mib: int
    gpus: int = 0
    gpu_model: str = ""


class ClusterSnapshot:
    def __init__(self, nodes: Sequence[NodeSpec]) -> None:
        if not nodes:
            raise ValueError("a cluster needs at least one node")
        self.names = [n.name for n in nodes]
        self.models = sorted({n.gpu_model for n in nodes if n.gpus})
        model_index = {m: i for i, m in enumerate(self.models)}
        self.node_model = np.array(
            [model_index.get(n.gpu_model, -1) if n.gpus else -1 for n in nodes], dtype=np.int64
        )
        self.cpu_capacity = np.array([n.cpu_milli for n in nodes], dtype=np.int64)
        self.memory_capacity = np.array([n.memory_mib for n in nodes], dtype=np.int64)
        self.gpu_count = np.array([n.gpus for n in nodes], dtype=np.int64)
        width = max(1, int(self.gpu_count.max()))
        self.gpu_exists: BoolArray = np.arange(width)[None, :] < self.gpu_count[:, None]
        self.cpu_free = self.cpu_capacity.copy()
        self.memory_free = self.memory_capacity.copy()
        self.gpu_free: IntArray = np.where(self.gpu_exists, pods.MILLI, 0).astype(np.int64)
        self.shape_counts: IntArray = np.zeros((len(nodes), width + 1), dtype=np.int64)
        """GPU pods on each node by shape: column 0 counts fractional pods, column k pods
        with k whole GPUs."""
        self.stamp = 0
        self.changed_at: IntArray = np.zeros(len(nodes), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def total_gpu_milli(self) -> int:
        return int(self.gpu_count.sum()) * pods.MILLI

    @property
    def allocated_gpu_milli(self) -> int:
        return self.total_gpu_milli - int(self.gpu_free.sum())

    def _rows(self, nodes: IntArray | None) -> IntArray | slice:
        return slice(None) if nodes is None else nodes

    def allowed_models(self, pod: pods.PodRequest, nodes: IntArray | None = None) -> BoolArray:
        """Whether each node (of `nodes`, or all) has a GPU model the pod accepts (always,
        for CPU-only pods)."""
        models = self.node_model[self._rows(nodes)]
        if pod.num_gpu == 0 or pod.gpu_models is None:
            return np.ones(len(models), dtype=bool)
        wanted = [i for i, m in enumerate(self.models) if m in pod.gpu_models]
        return np.isin(models, wanted)

    def full_gpus(self, nodes: IntArray | None = None) -> IntArray:
        """Whole free GPUs per node (of `nodes`, or all)."""
        counts: IntArray = (self.gpu_free[self._rows(nodes)] == pods.MILLI).sum(axis=1)
        return counts

    def gpu_left_on(self, nodes: IntArray | None = None) -> IntArray:
        """Free milli-GPU per node (of `nodes`, or all), summed over its GPUs."""
        left: IntArray = self.gpu_free[self._rows(nodes)].sum(axis=1)
        return left

    def assign(self, node: int, pod: pods.PodRequest, gpus: Sequence[int]) -> None:
        """Charge `pod` to `node`, taking `gpu_milli` from each of `gpus`."""
        if len(gpus) != pod.num_gpu:
            raise ValueError(f"{pod.name}: needs {pod.num_gpu} GPUs, got {len(gpus)}")
        if len(set(gpus)) != len(gpus):
            raise ValueError(f"{pod.name}: GPU {max(gpus, key=list(gpus).count)} listed twice")
        for g in gpus:
            if not 0 <= g < self.gpu_count[node]:
                raise ValueError(f"{pod.name}: {self.names[node]} has no GPU {g}")
            if not self.gpu_exists[node, g] or self.gpu_free[node, g] < pod.gpu_milli:
                raise ValueError(f"{pod.name}: GPU {g} of {self.names[node]} cannot fit it")
        if self.cpu_free[node] < pod.cpu_milli or self.memory_free[node] < pod.memory_mib:
            raise ValueError(f"{pod.name}: {self.names[node]} lacks CPU or memory")
        self.cpu_free[node] -= pod.cpu_milli
        self.memory_free[node] -= pod.memory_mib
        for g in gpus:
            self.gpu_free[node, g] -= pod.gpu_milli
        self._touch(node, pod, +1)

    def release(self, node: int, pod: pods.PodRequest, gpus: Sequence[int]) -> None:
        """Undo `assign` (a departure, or a what-if being rolled back)."""
        self.cpu_free[node] += pod.cpu_milli
        self.memory_free[node] += pod.memory_mib
        for g in gpus:
            self.gpu_free[node, g] += pod.gpu_milli
        self._touch(node, pod, -1)

    def _touch(self, node: int, pod: pods.PodRequest, sign: int) -> None:
        if pod.num_gpu:
            self.shape_counts[node, 0 if pod.is_fractional else pod.num_gpu] += sign
        self.stamp += 1
        self.changed_at[node] = self.stamp

    def changed_since(self, stamp: int) -> IntArray:
        """Nodes changed after `stamp` (all nodes for a stamp of -1)."""
        changed: IntArray = np.flatnonzero(self.changed_at > stamp)
        return changed

    @property
    def gpu_left(self) -> IntArray:
        return self.gpu_left_on()
