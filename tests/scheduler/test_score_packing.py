"""GpuPackingScore (R6.6). F = fully free GPUs, G = GPUs. Untouched node (F == G):
max(33 − F, F). Otherwise take the fitting GPUs in ascending free order: if u > 0 of them
are fully free, max(50 − u, 33); else max(100 − Σ(free·100 // 1000) // 10, 50)."""

from __future__ import annotations

import pytest

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.plugins import baselines
from tests.scheduler.builders import cluster, node, pod, put, scores, used


def packing_cluster() -> snapshot.ClusterSnapshot:
    snap = cluster(
        node("fresh8", gpus=8),
        node("fresh2", gpus=2),
        node("fresh16", gpus=16),
        node("fresh20", gpus=20),
        node("cpu-busy", gpus=8),
        node("one-half", gpus=8),
        node("shared", gpus=8),
        node("wide", gpus=20),
    )
    put(snap, "cpu-busy", pod(cpu=10_000))  # CPU pods leave the GPUs untouched
    used(snap, "one-half", 500)  # free [500, 1000 × 7]
    used(snap, "shared", 700, 300)  # free [300, 700, 1000 × 6]
    return used(snap, "wide", 500)  # free [500, 1000 × 19]


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(
            pod(gpu=0.3),
            {
                "fresh8": 25,  # max(33 − 8, 8)
                "fresh2": 31,  # max(33 − 2, 2)
                "fresh16": 17,  # max(33 − 16, 16)
                "fresh20": 20,  # max(33 − 20, 20): the F branch takes over
                "cpu-busy": 25,  # untouched, as fresh8
                "one-half": 100 - 5,  # GPU 0 (500) is tightest: 500·100//1000 = 50, 50//10 = 5
                "shared": 100 - 3,  # GPU 0 (300): 30//10 = 3
                "wide": 95,
            },
            id="small-share",
        ),
        pytest.param(
            pod(gpu=0.5),
            {
                "fresh8": 25,
                "fresh2": 31,
                "fresh16": 17,
                "fresh20": 20,
                "cpu-busy": 25,
                "one-half": 95,  # 500 fits exactly
                "shared": 100 - 7,  # 300 is too small, 700 is next: 70//10 = 7
                "wide": 95,
            },
            id="half",
        ),
        pytest.param(
            pod(gpu=0.75),
            {
                "fresh8": 25,
                "fresh2": 31,
                "fresh16": 17,
                "fresh20": 20,
                "cpu-busy": 25,
                "one-half": 49,  # only whole GPUs fit: u = 1 → max(50 − 1, 33)
                "shared": 49,
                "wide": 49,
            },
            id="share-needing-a-full-gpu",
        ),
        pytest.param(
            pod(gpus=3),
            {
                "fresh8": 25,
                "fresh16": 17,
                "fresh20": 20,
                "cpu-busy": 25,
                "one-half": 47,  # u = 3 → max(50 − 3, 33)
                "shared": 47,
                "wide": 47,
            },
            id="three-whole",
        ),
        pytest.param(
            pod(gpus=18),
            # fresh20: max(33 − 20, 20); wide: u = 18 → max(50 − 18, 33) = 33 (the floor)
            {"fresh20": 20, "wide": 33},
            id="floors",
        ),
        pytest.param(pod(), {"fresh8": 0, "shared": 0, "wide": 0}, id="cpu-only"),
    ],
)
def test_gpu_packing_score(p: pods.PodRequest, expected: dict[str, int]) -> None:
    assert scores(baselines.GpuPackingScore(), packing_cluster(), p, list(expected)) == expected
