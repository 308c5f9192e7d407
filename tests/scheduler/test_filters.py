"""The shared filters (§5 of docs/fgd-simulator-semantics.md) and the refusal they leave."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.scheduler import framework, pods, snapshot
from k8s4ai.scheduler.plugins import baselines, fit, selectors
from tests.scheduler.builders import cluster, node, passing, pod, put, used


def cpu_memory_cluster() -> snapshot.ClusterSnapshot:
    snap = cluster(
        node("a", cpu=4000, memory=8000),
        node("b", cpu=16_000, memory=2000),
        node("c", cpu=16_000, memory=16_000, gpus=2),
    )
    # c: 16000 − 10000 = 6000m CPU and 16000 − 4000 = 12000Mi left.
    return put(snap, "c", pod("busy", cpu=10_000, memory=4000))


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        # a 4000 ≥ 4000 and 8000 ≥ 2000; b 16000, 2000 ≥ 2000; c 6000, 12000.
        pytest.param(pod(cpu=4000, memory=2000), ["a", "b", "c"], id="exactly-the-capacity-fits"),
        pytest.param(pod(cpu=5000, memory=1000), ["b", "c"], id="cpu-short-on-a"),
        pytest.param(pod(cpu=1000, memory=4000), ["a", "c"], id="memory-short-on-b"),
        # c has 16000m but pods already hold 10000m of it.
        pytest.param(pod(cpu=7000, memory=1000), ["b"], id="cpu-held-by-pods-counts"),
        pytest.param(pod(cpu=6000, memory=3000), ["c"], id="cpu-and-memory-both-needed"),
        pytest.param(pod(cpu=16_001, memory=0), [], id="nowhere"),
        pytest.param(pod(cpu=6000, memory=12_000, gpu=0.5), ["c"], id="gpu-pods-too"),
    ],
)
def test_resource_fit_checks_cpu_and_memory_left(p: pods.PodRequest, expected: list[str]) -> None:
    assert passing(fit.ResourceFit(), cpu_memory_cluster(), p) == expected


def models_cluster() -> snapshot.ClusterSnapshot:
    return cluster(
        node("a", gpus=2, model="T4"),
        node("b", gpus=4, model="P100"),
        node("c", gpus=8, model="V100"),
        node("d"),
    )


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(pod(gpu=0.5), ["a", "b", "c", "d"], id="any-model"),
        pytest.param(pod(gpu=0.5, models="T4"), ["a"], id="one-model"),
        pytest.param(pod(gpus=2, models="T4|P100"), ["a", "b"], id="either-of-two"),
        pytest.param(pod(gpu=0.5, models="P100|T4"), ["a", "b"], id="order-irrelevant"),
        pytest.param(pod(gpu=0.5, models="A100"), [], id="model-absent"),
        pytest.param(pod(gpu=0.5, models="A100|V100"), ["c"], id="one-present-one-absent"),
        pytest.param(pod(), ["a", "b", "c", "d"], id="cpu-only"),
        pytest.param(pod(models="T4"), ["a", "b", "c", "d"], id="cpu-only-ignores-models"),
    ],
)
def test_gpu_model_restricts_to_the_listed_models(p: pods.PodRequest, expected: list[str]) -> None:
    assert passing(fit.GpuModel(), models_cluster(), p) == expected


def gpu_cluster() -> snapshot.ClusterSnapshot:
    snap = cluster(node("a", gpus=2), node("b", gpus=4), node("c", gpus=4), node("d", cpu=128_000))
    used(snap, "a", 700, 400)  # free [300, 600]
    used(snap, "b", 500, 500, 1000, 1000)  # free [500, 500, 0, 0]
    used(snap, "c", 0, 0, 0, 900)  # free [1000, 1000, 1000, 100]
    return snap


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(pod(gpu=0.3), ["a", "b", "c"], id="small-share-fits-everywhere"),
        pytest.param(pod(gpu=0.5), ["a", "b", "c"], id="exactly-the-free-milli-fits"),
        pytest.param(pod(gpu=0.6), ["a", "c"], id="share-above-b's-500"),
        # a has 300 + 600 = 900 free in total, but no single GPU with 700.
        pytest.param(pod(gpu=0.7), ["c"], id="share-needs-one-gpu-not-the-sum"),
        pytest.param(pod(gpus=1), ["c"], id="one-whole-gpu"),
        # b has 500 + 500 free on two GPUs: not a whole one.
        pytest.param(pod(gpus=2), ["c"], id="multi-gpu-needs-whole-free-gpus"),
        pytest.param(pod(gpus=3), ["c"], id="three-of-c's-three"),
        pytest.param(pod(gpus=4), [], id="more-whole-gpus-than-free"),
        pytest.param(pod(), ["a", "b", "c", "d"], id="cpu-only-skips-the-gpu-check"),
    ],
)
def test_gpu_fit_needs_free_milli_on_enough_gpus(p: pods.PodRequest, expected: list[str]) -> None:
    assert passing(fit.GpuFit(), gpu_cluster(), p) == expected


def refusal_cluster() -> snapshot.ClusterSnapshot:
    snap = cluster(
        node("a", gpus=2, model="T4", cpu=8000),
        node("b", gpus=1, model="P100", cpu=32_000),
        node("c", cpu=64_000),
    )
    used(snap, "a", 700, 200)  # free [300, 800]
    return used(snap, "b", 100)  # free [900]


def refusal(p: pods.PodRequest) -> framework.Placement | framework.Refusal:
    profile = framework.Profile(
        "test", fit.FILTERS, ((baselines.DotProductScore(), 1.0),), selectors.BestFitGpu()
    )
    return framework.Runtime(profile, np.random.default_rng(0)).schedule(refusal_cluster(), p)


@pytest.mark.parametrize(
    ("p", "plugin", "reason"),
    [
        pytest.param(
            pod("p", gpu=0.5, models="A100"),
            "GpuModel",
            "no node has the GPU model it requires (A100)",
            id="model",
        ),
        pytest.param(
            pod("p", gpu=0.5, models="V100|A100"),
            "GpuModel",
            "no node has the GPU model it requires (A100|V100)",
            id="models-listed-sorted",
        ),
        pytest.param(pod("p", gpu=0.95), "GpuFit", "no GPU has 950 milli-GPU free", id="share"),
        # The model filter passes a (T4); its GPUs then refuse.
        pytest.param(
            pod("p", gpu=0.95, models="T4"),
            "GpuFit",
            "no GPU has 950 milli-GPU free",
            id="share-on-the-allowed-model",
        ),
        pytest.param(pod("p", gpus=2), "GpuFit", "no node has 2 whole GPUs free", id="whole-gpus"),
        pytest.param(
            pod("p", cpu=100_000, memory=10),
            "ResourceFit",
            "no node has 100000m CPU and 10Mi memory free",
            id="cpu-only-pod-too-big",
        ),
        # GPUs fit on a (800) and b (900), CPU only on c, which has no GPU.
        pytest.param(
            pod("p", cpu=40_000, memory=10, gpu=0.5),
            "ResourceFit",
            "no node has 40000m CPU and 10Mi memory free beside a GPU that fits",
            id="cpu-and-gpu-on-different-nodes",
        ),
    ],
)
def test_refusal_names_the_plugin_that_removed_the_last_node(
    p: pods.PodRequest, plugin: str, reason: str
) -> None:
    result = refusal(p)
    assert result == framework.Refusal(p, plugin, reason)
    assert str(result) == f"p: {plugin}: {reason}"


def test_a_pod_that_fits_is_not_refused() -> None:
    # Only b has both the GPU (900 ≥ 500) and the CPU (32000 ≥ 16000).
    result = refusal(pod("p", cpu=16_000, gpu=0.5))
    assert isinstance(result, framework.Placement)
    assert (result.node, result.gpus) == (1, (0,))
