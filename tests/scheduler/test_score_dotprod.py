"""DotProductScore (R6.4): dot = cpu_left/128000 · cpu/128000 + G_left/8000 · gpu/8000,
score = trunc(100 · (1 − dot/2)), on the free resources before placement."""

from __future__ import annotations

import pytest

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.plugins import baselines
from tests.scheduler.builders import cluster, node, pod, scores, used


def four_nodes() -> snapshot.ClusterSnapshot:
    snap = cluster(
        node("a", gpus=8, cpu=128_000),
        node("b", gpus=4, cpu=64_000),
        node("c", gpus=2, model="T4", cpu=32_000),
        node("d", cpu=96_000),
    )
    return used(snap, "c", 1000, 500)  # c: G_left = 500


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(
            pod(cpu=32_000, gpu=0.5),
            # a: 1·0.25 + 1·0.0625 = 0.3125 → 100·(1 − 0.15625) = 84.375
            # b: 0.5·0.25 + 0.5·0.0625 = 0.15625 → 92.1875
            # c: 0.25·0.25 + 0.0625·0.0625 = 0.06640625 → 96.6796875
            {"a": 84.0, "b": 92.0, "c": 96.0},
            id="fractional-prefers-the-emptier-fit",
        ),
        pytest.param(
            pod(cpu=64_000, gpus=8),
            # a: 1·0.5 + 1·1 = 1.5 → 100·(1 − 0.75) = 25
            # b: 0.5·0.5 + 0.5·1 = 0.75 → 62.5
            {"a": 25.0, "b": 62.0},
            id="whole-gpus-count-in-full",
        ),
        pytest.param(
            pod(cpu=32_000),
            # GPU term is 0: a 0.25 → 87.5; b 0.125 → 93.75; c 0.0625 → 96.875; d 0.1875 → 90.625
            {"a": 87.0, "b": 93.0, "c": 96.0, "d": 90.0},
            id="cpu-only-pod-ignores-gpus",
        ),
    ],
)
def test_dot_product_score(p: pods.PodRequest, expected: dict[str, float]) -> None:
    assert scores(baselines.DotProductScore(), four_nodes(), p, list(expected)) == expected
