"""The per-shape cache of framework.Runtime: after any sequence of placements and
departures, a long-lived runtime decides exactly as a fresh one would on the same state."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.scheduler import framework, pods, registry, snapshot
from tests.scheduler.builders import cluster, node, pod

SEED = 2024
ONLINE = ("random", "deadgap", "deadgap-fgd")
"""random scores by design; the deadgap policies learn from the run, with their own cache."""
CACHED = [name for name in registry.POLICIES if name not in ONLINE]


def ten_nodes() -> snapshot.ClusterSnapshot:
    return cluster(
        *(node(f"v{i}", gpus=8, model="V100", cpu=96_000, memory=256_000) for i in range(4)),
        *(node(f"t{i}", gpus=4, model="T4", cpu=32_000, memory=64_000) for i in range(3)),
        *(node(f"p{i}", gpus=2, model="P100", cpu=16_000, memory=32_000) for i in range(2)),
        node("cpu", cpu=64_000, memory=128_000),
    )


SHAPES = [
    pod(cpu=1000, gpu=0.25),
    pod(cpu=4000, gpu=0.25),
    pod(cpu=2000, gpu=0.5),
    pod(cpu=2000, gpu=0.75),
    pod(cpu=1000, gpu=0.5, models="T4|P100"),
    pod(cpu=8000, gpus=1),
    pod(cpu=8000, gpus=2),
    pod(cpu=16_000, gpus=4, models="V100"),
    pod(cpu=32_000, gpus=8),
    pod(cpu=6000, memory=30_000),
    pod(cpu=12_000),
]


def arrivals(rng: np.random.Generator, count: int) -> list[pods.PodRequest]:
    picks = rng.integers(len(SHAPES), size=count)
    return [
        pods.PodRequest(f"p{i}", s.cpu_milli, s.memory_mib, s.num_gpu, s.gpu_milli, s.gpu_models)
        for i, s in enumerate(SHAPES[k] for k in picks)
    ]


@pytest.mark.parametrize("cached_shapes", [framework.CACHED_SHAPES, 3], ids=["roomy", "evicting"])
@pytest.mark.parametrize("policy", CACHED)
def test_cached_decisions_match_a_fresh_runtime(
    policy: str, cached_shapes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(framework, "CACHED_SHAPES", cached_shapes)
    rng = np.random.default_rng(SEED)
    workload = arrivals(rng, 200)
    snap = ten_nodes()
    profile = registry.profile(
        policy, registry.PolicyContext(workload, snap.models, np.random.default_rng(SEED))
    )
    assert profile.node_local  # so the cache is in use
    long_lived = framework.Runtime(profile, np.random.default_rng(SEED))
    running: list[framework.Placement] = []
    outcomes = {"placed": 0, "refused": 0, "released": 0}
    for p in workload:
        # Depart a random share of the running pods first (about one in three steps).
        while running and rng.random() < 0.35:
            gone = running.pop(int(rng.integers(len(running))))
            snap.release(gone.node, gone.pod, gone.gpus)
            outcomes["released"] += 1
        fresh = framework.Runtime(profile, np.random.default_rng(SEED))
        cached = long_lived.schedule(snap, p)
        assert cached == fresh.schedule(snap, p), f"{policy}: {p.name}"
        if isinstance(cached, framework.Placement):
            snap.assign(cached.node, p, cached.gpus)
            running.append(cached)
            outcomes["placed"] += 1
        else:
            outcomes["refused"] += 1
    # The walk reached a full cluster and churned, so stale cache entries were exercised.
    assert min(outcomes.values()) > 10, outcomes
