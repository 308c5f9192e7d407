"""Filters every policy shares: CPU and memory fit, the GPU model is one the pod accepts, and
the GPUs it needs are free (whole GPUs for multi-GPU pods, one GPU with enough milli-GPU left
for a fractional pod)."""

from __future__ import annotations

import numpy as np

from k8s4ai.scheduler import pods, snapshot


class ResourceFit:
    name = "ResourceFit"
    node_local = True

    def filter(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> snapshot.BoolArray:
        mask: snapshot.BoolArray = (snap.cpu_free[nodes] >= pod.cpu_milli) & (
            snap.memory_free[nodes] >= pod.memory_mib
        )
        return mask

    def reason(self, pod: pods.PodRequest) -> str:
        where = " beside a GPU that fits" if pod.num_gpu else ""
        return f"no node has {pod.cpu_milli}m CPU and {pod.memory_mib}Mi memory free{where}"


class GpuModel:
    name = "GpuModel"
    node_local = True

    def filter(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> snapshot.BoolArray:
        allowed: snapshot.BoolArray = snap.allowed_models(pod, nodes)
        return allowed

    def reason(self, pod: pods.PodRequest) -> str:
        models = "|".join(sorted(pod.gpu_models or ()))
        return f"no node has the GPU model it requires ({models})"


class GpuFit:
    name = "GpuFit"
    node_local = True

    def filter(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> snapshot.BoolArray:
        if pod.num_gpu == 0:
            return np.ones(len(nodes), dtype=bool)
        fitting = (snap.gpu_free[nodes] >= pod.gpu_milli).sum(axis=1)
        mask: snapshot.BoolArray = fitting >= pod.num_gpu
        return mask

    def reason(self, pod: pods.PodRequest) -> str:
        if pod.is_fractional:
            return f"no GPU has {pod.gpu_milli} milli-GPU free"
        plural = "s" if pod.num_gpu > 1 else ""
        return f"no node has {pod.num_gpu} whole GPU{plural} free"


FILTERS = (GpuModel(), GpuFit(), ResourceFit())
"""In order of how often each refuses on GPU traces, so refusals name the likely cause."""
