"""GpuClusteringScore (R6.5): base = 25·(8000 − G_left) // 8000, plus 75 when the node runs
only pods of this GPU shape, 50 when it runs this shape among others, 25 when it runs no
GPU pod, 0 when it runs only other shapes. CPU-only pods score 0 everywhere."""

from __future__ import annotations

import pytest

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.plugins import baselines
from tests.scheduler.builders import cluster, node, pod, put, scores, used


def shapes_cluster() -> snapshot.ClusterSnapshot:
    names = ("empty", "shared", "mixed", "pairs", "cpu-busy", "packed")
    snap = cluster(*(node(n, gpus=8) for n in names), node("small", gpus=2))
    used(snap, "shared", 500, 500)  # two fractional pods; G_left 7000 → base 25000//8000 = 3
    used(snap, "mixed", 500, 1000)  # fractional + one-GPU; G_left 6500 → base 37500//8000 = 4
    put(snap, "pairs", pod(gpus=2), (0, 1))  # one 2-GPU pod; G_left 6000 → base 6
    put(snap, "cpu-busy", pod(cpu=50_000))  # CPU pods carry no tag; base 0
    used(snap, "packed", *[1000] * 7)  # seven one-GPU pods; G_left 1000 → base 175000//8000 = 21
    return snap  # empty: base 0; small (2 GPUs): G_left 2000 → base 150000//8000 = 18


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(
            pod(gpu=0.5),
            {
                "empty": 0 + 25,
                "shared": 3 + 75,
                "mixed": 4 + 50,
                "pairs": 6 + 0,
                "cpu-busy": 0 + 25,
                "packed": 21 + 0,
                "small": 18 + 25,
            },
            id="fractional",
        ),
        pytest.param(
            pod(gpus=1),
            {
                "empty": 0 + 25,
                "shared": 3 + 0,
                "mixed": 4 + 50,
                "pairs": 6 + 0,
                "cpu-busy": 0 + 25,
                "packed": 21 + 75,
                "small": 18 + 25,
            },
            id="one-whole-gpu",
        ),
        pytest.param(
            pod(gpus=2),
            {
                "empty": 0 + 25,
                "shared": 3 + 0,
                "mixed": 4 + 0,
                "pairs": 6 + 75,
                "cpu-busy": 0 + 25,
                "packed": 21 + 0,
                "small": 18 + 25,
            },
            id="two-whole-gpus",
        ),
        pytest.param(
            pod(),
            {n: 0 for n in ("empty", "shared", "mixed", "pairs", "cpu-busy", "packed", "small")},
            id="cpu-only",
        ),
    ],
)
def test_gpu_clustering_bands(p: pods.PodRequest, expected: dict[str, int]) -> None:
    assert scores(baselines.GpuClusteringScore(), shapes_cluster(), p) == expected


def test_a_departed_shape_no_longer_counts() -> None:
    snap = cluster(node("a", gpus=8), node("b", gpus=8))
    share = pod("s", gpu=0.5)
    put(snap, "a", share, (0,))
    # a: only fractional pods, G_left 7500 → base 12500//8000 = 1, + 75.
    assert scores(baselines.GpuClusteringScore(), snap, pod(gpu=0.25)) == {"a": 76, "b": 25}
    snap.release(0, share, (0,))
    assert scores(baselines.GpuClusteringScore(), snap, pod(gpu=0.25)) == {"a": 25, "b": 25}
