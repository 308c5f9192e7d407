"""Shape matching: send each pod to nodes whose CPU-per-GPU matches its own.

Why: on the Alibaba trace FGD leaves most of its unallocated GPU on CPU-poor nodes (12 cores
per GPU) whose CPU ran out first, while CPU-rich nodes (52 cores per GPU) end with CPU to
spare. FGD's score is coarse (an integer per node), so many nodes tie and the tie decides
where a pod goes. Breaking those ties toward the node whose capacity has the pod's CPU:GPU
proportion keeps CPU-hungry pods off CPU-poor nodes, and CPU-only pods go where CPU is most
plentiful per GPU. The node's proportion is its capacity, not what is left, so the preference
is stable and equal-scoring pods still pack onto the same nodes.

Used with a weight small enough that it only orders nodes FGD scores equally.
"""

from __future__ import annotations

import numpy as np

from k8s4ai.scheduler import framework, pods, snapshot


class ShapeMatch:
    name = "ShapeMatch"
    node_local = True

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        node_ratio = snap.cpu_capacity[nodes] / np.maximum(snap.gpu_count[nodes] * pods.MILLI, 1)
        if pod.num_gpu == 0:
            cpu_rich: framework.FloatArray = framework.MAX_SCORE * node_ratio / (1 + node_ratio)
            return cpu_rich
        pod_ratio = max(pod.cpu_milli, 1) / pod.gpu_request_milli
        distance = np.abs(np.log(node_ratio / pod_ratio))
        match: framework.FloatArray = framework.MAX_SCORE / (1 + distance)
        return match
