"""fragmentation.run: one policy, one seed, reproducible to the last sample."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from k8s4ai.backends.sim import fragmentation
from k8s4ai.scheduler import pods, registry, snapshot
from tests.scheduler.builders import node, pod


def twenty_nodes() -> list[snapshot.NodeSpec]:
    return [
        *(node(f"v{i:02d}", gpus=8, model="V100", cpu=96_000) for i in range(15)),
        *(node(f"t{i:02d}", gpus=4, model="T4", cpu=64_000) for i in range(3)),
        node("p00", gpus=2, model="P100", cpu=32_000),
        node("cpu", cpu=128_000),
    ]  # 134 GPUs


SHAPES = [  # (pod, weight): about 450 milli-GPU a pod, so 300 pods are about the capacity
    (pod(cpu=2000, gpu=0.25), 6),
    (pod(cpu=4000, gpu=0.5), 4),
    (pod(cpu=3000, gpu=0.3, models="T4|P100"), 2),
    (pod(cpu=6000, gpu=0.75), 2),
    (pod(cpu=8000, gpus=1), 2),
    (pod(cpu=16_000, gpus=2, models="V100"), 0.5),
    (pod(cpu=24_000, gpus=4), 0.2),
    (pod(cpu=48_000, gpus=8), 0.1),
    (pod(cpu=2000), 6),
]


def workload() -> list[pods.PodRequest]:
    weights = np.array([w for _, w in SHAPES], dtype=float)
    picks = np.random.default_rng(9).choice(len(SHAPES), size=300, p=weights / weights.sum())
    return [
        pods.PodRequest(
            f"w{i:03d}", s.cpu_milli, s.memory_mib, s.num_gpu, s.gpu_milli, s.gpu_models
        )
        for i, s in enumerate(SHAPES[k][0] for k in picks)
    ]


@functools.cache
def run(policy: str, seed: int) -> fragmentation.Run:
    result = fragmentation.run(twenty_nodes(), workload(), policy, seed)
    return dataclasses.replace(result, seconds=0.0)  # the one field that may differ


@pytest.mark.parametrize("policy", list(registry.POLICIES))
def test_the_same_seed_gives_the_same_run(policy: str) -> None:
    again = dataclasses.replace(
        fragmentation.run(twenty_nodes(), workload(), policy, 42), seconds=0.0
    )
    assert again == run(policy, 42)
    # Draws were added to the 300 pods, the run went past full and the curve reached the end.
    assert again.pods > 300
    assert again.failed > 0 and max(again.curve) == fragmentation.MAX_ARRIVED_PERCENT
    assert (again.placed + again.failed, again.failed) == (again.pods, sum(again.refusals.values()))


@pytest.mark.parametrize("policy", list(registry.POLICIES))
def test_different_seeds_give_different_runs(policy: str) -> None:
    assert run(policy, 42).curve != run(policy, 43).curve


def test_every_policy_sees_the_same_arrivals() -> None:
    runs = [run(policy, 42) for policy in registry.POLICIES]
    assert len({r.pods for r in runs}) == 1
    # Until the first failure (past 17% here) allocation is the arrived load, whatever the
    # policy.
    assert len({r.curve[10] for r in runs}) == 1
