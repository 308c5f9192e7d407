"""GPU choice on the chosen node (R6.2): best fit and random for fractional pods; whole-GPU
pods always take the lowest-index fully free GPUs."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.plugins import baselines, selectors
from tests.scheduler.builders import cluster, everywhere, node, pod, used


def one_node() -> snapshot.ClusterSnapshot:
    # free [300, 700, 700, 1000, 0, 1000]; a second, wider node makes slots past n's GPUs exist.
    snap = cluster(node("n", gpus=6), node("wide", gpus=8))
    return used(snap, "n", 700, 300, 300, 0, 1000)


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(pod(gpu=0.3), (0,), id="tightest-is-exact"),
        pytest.param(pod(gpu=0.5), (1,), id="tie-between-700s-goes-to-lowest-index"),
        pytest.param(pod(gpu=0.8), (3,), id="only-a-whole-gpu-fits"),
        pytest.param(pod(gpus=1), (3,), id="one-whole"),
        pytest.param(pod(gpus=2), (3, 5), id="two-whole-skip-partly-used"),
        pytest.param(pod(), (), id="cpu-only"),
    ],
)
def test_best_fit_gpu(p: pods.PodRequest, expected: tuple[int, ...]) -> None:
    assert selectors.BestFitGpu().select(one_node(), 0, p) == expected


@pytest.mark.parametrize(
    ("p", "fitting"),
    [
        pytest.param(pod(gpu=0.3), {0, 1, 2, 3, 5}, id="small-share"),
        pytest.param(pod(gpu=0.5), {1, 2, 3, 5}, id="half"),
        pytest.param(pod(gpu=0.8), {3, 5}, id="large-share"),
    ],
)
def test_random_gpu_picks_only_and_all_fitting_gpus(p: pods.PodRequest, fitting: set[int]) -> None:
    picker = selectors.RandomGpu(np.random.default_rng(7))
    snap = one_node()
    # 200 draws over at most 5 GPUs: missing one has probability ≤ 5·0.8^200 ≈ 2e-19.
    assert {g for _ in range(200) for g in picker.select(snap, 0, p)} == fitting


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(pod(gpus=2), (3, 5), id="two-whole"),
        pytest.param(pod(gpus=1), (3,), id="one-whole"),
        pytest.param(pod(), (), id="cpu-only"),
    ],
)
def test_random_gpu_gives_whole_pods_the_lowest_free_gpus(
    p: pods.PodRequest, expected: tuple[int, ...]
) -> None:
    picker = selectors.RandomGpu(np.random.default_rng(7))
    assert {picker.select(one_node(), 0, p) for _ in range(20)} == {expected}


def test_random_score_is_a_fresh_draw_in_range() -> None:
    plugin = baselines.RandomScore(np.random.default_rng(3))
    snap = cluster(*(node(f"n{i}", gpus=1) for i in range(5)))
    draws = np.array([plugin.score(snap, pod(gpu=0.5), everywhere(snap)) for _ in range(200)])
    assert draws.shape == (200, 5)
    assert draws.min() >= 0 and draws.max() < 100
    # Not constant per node: each node's draws spread over most of the range.
    assert (draws.max(axis=0) - draws.min(axis=0) > 90).all()
