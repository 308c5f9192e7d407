"""framework.Runtime: the best total wins; equal bests go to the node earliest in one random
order drawn per run, so a seed decides every tie."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.scheduler import framework, registry, snapshot
from k8s4ai.scheduler.plugins import baselines, fit, selectors
from tests.scheduler.builders import cluster, node, pod, state, used


def dotprod() -> framework.Profile:
    return framework.Profile(
        "dotprod", fit.FILTERS, ((baselines.DotProductScore(), 1.0),), selectors.BestFitGpu()
    )


def four_nodes() -> snapshot.ClusterSnapshot:
    snap = cluster(
        node("a", gpus=8, cpu=128_000),
        node("b", gpus=4, cpu=64_000),
        node("c", gpus=2, model="T4", cpu=32_000),
        node("d", cpu=96_000),
    )
    return used(snap, "c", 1000, 500)  # c: G_left = 500, free [0, 500]


def test_the_best_scoring_node_wins_with_its_breakdown() -> None:
    p = pod(cpu=32_000, gpu=0.5)
    # DotProduct (see test_score_dotprod): a 84, b 92, c 96; d has no GPU.
    result = framework.Runtime(dotprod(), np.random.default_rng(0)).schedule(four_nodes(), p)
    assert result == framework.Placement(p, 2, (1,), 96.0, {"DotProduct": 96.0})


def test_weights_scale_and_sum_plugin_scores() -> None:
    p = pod(cpu=32_000, gpu=0.5)
    profile = framework.Profile(
        "mix",
        fit.FILTERS,
        ((baselines.DotProductScore(), 0.5), (baselines.BestFitScore(), 2.0)),
        selectors.BestFitGpu(),
    )
    # c: 0.5·96 + 2·100 (BestFit, see test_score_bestfit) = 248.
    result = framework.Runtime(profile, np.random.default_rng(0)).schedule(four_nodes(), p)
    assert result == framework.Placement(p, 2, (1,), 248.0, {"DotProduct": 96.0, "BestFit": 100.0})


def test_schedule_leaves_the_snapshot_alone_and_place_charges_it() -> None:
    snap, p = four_nodes(), pod(cpu=32_000, gpu=0.5)
    runtime = framework.Runtime(dotprod(), np.random.default_rng(0))
    before = state(snap)
    runtime.schedule(snap, p)
    assert state(snap) == before
    runtime.place(snap, p)
    assert state(snap)["c"] == (0, 512_000 - 1024, [0, 0], [2, 1, 0, 0, 0, 0, 0, 0, 0])


def first_in_order(seed: int, candidates: list[int], size: int) -> int:
    """The tie rule written out: the candidate earliest in the run's node permutation."""
    rank = np.random.default_rng(seed).permutation(size)
    return min(candidates, key=lambda n: rank[n])


@pytest.mark.parametrize("seed", range(8), ids=lambda s: f"seed-{s}")
def test_ties_go_to_the_earliest_node_in_the_run_order(seed: int) -> None:
    snap = cluster(*(node(f"n{i}", gpus=2) for i in range(5)))
    used(snap, "n1", 500)
    used(snap, "n3", 500)
    # n1 and n3 tie on DotProduct (G_left 1500 < 2000); the others score lower.
    result = framework.Runtime(dotprod(), np.random.default_rng(seed)).schedule(snap, pod(gpu=0.5))
    assert isinstance(result, framework.Placement)
    assert result.node == first_in_order(seed, [1, 3], 5)


def test_a_seed_decides_ties_and_different_seeds_spread_them() -> None:
    snap = cluster(*(node(f"n{i}", gpus=2) for i in range(5)))

    def choice(seed: int) -> int:
        runtime = framework.Runtime(dotprod(), np.random.default_rng(seed))
        result = runtime.schedule(snap, pod(gpu=0.5))
        assert isinstance(result, framework.Placement)
        return result.node

    assert [choice(s) for s in range(20)] == [choice(s) for s in range(20)]
    assert [choice(s) for s in range(20)] == [
        first_in_order(s, list(range(5)), 5) for s in range(20)
    ]
    assert len({choice(s) for s in range(20)}) > 1


def test_the_run_order_holds_for_the_whole_run() -> None:
    # Equal pods land together: after the first, its node is fuller and wins again (DotProduct
    # prefers less free room), and the tie order is not redrawn between pods.
    snap = cluster(*(node(f"n{i}", gpus=2) for i in range(5)))
    runtime = framework.Runtime(dotprod(), np.random.default_rng(11))
    nodes = []
    for i in range(4):
        result = runtime.place(snap, pod(f"p{i}", gpu=0.5))
        assert isinstance(result, framework.Placement)
        nodes.append(result.node)
    first = first_in_order(11, list(range(5)), 5)
    assert nodes == [first] * 4


def test_unknown_policy_lists_the_known_ones() -> None:
    ctx = registry.PolicyContext([], [], np.random.default_rng(0))
    with pytest.raises(registry.UnknownPolicyError) as err:
        registry.profile("tetris", ctx)
    assert str(err.value) == (
        "unknown policy 'tetris'; known: random, dotprod, gpuclustering, gpupacking, bestfit, "
        "fgd, fgd-shape, deadgap, deadgap-fgd"
    )


@pytest.mark.parametrize("name", registry.PUBLISHED)
def test_every_published_policy_is_registered(name: str) -> None:
    ctx = registry.PolicyContext([pod(gpu=0.5)], ["G2"], np.random.default_rng(0))
    profile = registry.profile(name.upper(), ctx)
    assert (profile.name, profile.filters) == (name, fit.FILTERS)


def test_fgd_shape_breaks_fgd_ties_by_cpu_per_gpu() -> None:
    # Two untouched 2-GPU nodes, both able to host the pod, score the same under FGD; the pod
    # asks 40 cores per GPU, so it goes to the node with 52 cores per GPU rather than 24.
    snap = cluster(
        node("poor", gpus=2, model="T4", cpu=48_000, memory=100_000),
        node("rich", gpus=2, model="T4", cpu=104_000, memory=100_000),
    )
    workload = [pod("p", cpu=4_000, gpus=1)]
    hungry = pod("hungry", cpu=40_000, gpus=1)
    ctx = registry.PolicyContext(workload, snap.models, np.random.default_rng(0))
    fgd_only = framework.Runtime(registry.profile("fgd", ctx), np.random.default_rng(0))
    both = framework.Runtime(registry.profile("fgd-shape", ctx), np.random.default_rng(0))
    both_nodes = np.arange(2)
    assert all(f.filter(snap, hungry, both_nodes).all() for f in fit.FILTERS)
    result = both.schedule(snap, hungry)
    assert isinstance(result, framework.Placement)
    assert snap.names[result.node] == "rich"
    plain = fgd_only.schedule(snap, hungry)
    assert isinstance(plain, framework.Placement)
    assert result.breakdown["FGD"] == plain.breakdown["FGD"]
