"""BestFitScore (R6.7): s = 0.5·(cpu_left − cpu)/128000 + 0.5·(G_left − gpu)/8000,
score = trunc(100 · (1 − s)); the raw score (normalisation keeps the same best nodes)."""

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
            # a: 0.5·96000/128000 + 0.5·7500/8000 = 0.375 + 0.46875 = 0.84375 → 15.625
            # b: 0.5·32000/128000 + 0.5·3500/8000 = 0.125 + 0.21875 = 0.34375 → 65.625
            # c: 0 + 0 → 100
            {"a": 15.0, "b": 65.0, "c": 100.0},
            id="fractional-fills-c-exactly",
        ),
        pytest.param(
            pod(cpu=16_000, gpus=2),
            # a: 0.5·112000/128000 + 0.5·6000/8000 = 0.4375 + 0.375 = 0.8125 → 18.75
            # b: 0.5·48000/128000 + 0.5·2000/8000 = 0.1875 + 0.125 = 0.3125 → 68.75
            {"a": 18.0, "b": 68.0},
            id="whole-gpus",
        ),
        pytest.param(
            pod(cpu=32_000),
            # a: 0.375 + 0.5 = 0.875 → 12.5;  b: 0.125 + 0.25 = 0.375 → 62.5
            # c: 0 + 0.5·500/8000 = 0.03125 → 96.875;  d: 0.5·64000/128000 = 0.25 → 75
            {"a": 12.0, "b": 62.0, "c": 96.0, "d": 75.0},
            id="cpu-only-pod-counts-idle-gpus",
        ),
    ],
)
def test_best_fit_score(p: pods.PodRequest, expected: dict[str, float]) -> None:
    assert scores(baselines.BestFitScore(), four_nodes(), p, list(expected)) == expected
