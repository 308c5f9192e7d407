"""Pods k8s4ai did not place shrink their node's allocatable; its own and finished pods do not."""

from __future__ import annotations

from k8s4ai.backends.kubernetes import capacity
from tests.backends.kubernetes.kube import kube_node, kube_pod


def test_other_pods_requests_are_taken_off_their_node() -> None:
    pods = [
        kube_pod("theirs", gpus=3, cpu="1500m", memory="1Gi", node="gpu-0", scheduler="x"),
        kube_pod("ours", gpus=8, node="gpu-0"),
        kube_pod("done", gpus=8, node="gpu-0", scheduler="x") | {"status": {"phase": "Failed"}},
        kube_pod("greedy", gpus=16, node="gpu-1", scheduler="x"),
        kube_pod("unbound", gpus=8, scheduler="x"),
    ]
    nodes = [kube_node("gpu-0"), kube_node("gpu-1"), kube_node("gpu-2")]
    left = capacity.left(nodes, pods, {("team-a", "ours")})
    assert [n["status"]["allocatable"] for n in left] == [
        {"cpu": "190500m", "memory": str(2 * 2**40 - 2**30), "pods": "110", "nvidia.com/gpu": "5"},
        {
            "cpu": "176000m",
            "memory": str(2 * 2**40 - 64 * 2**30),
            "pods": "110",
            "nvidia.com/gpu": "0",
        },
        nodes[2]["status"]["allocatable"],
    ]
    assert nodes[0]["status"]["allocatable"]["nvidia.com/gpu"] == "8", "the input is left alone"
