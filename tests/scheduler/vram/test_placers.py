"""Whole-GPU, MIG and VRAM placers on small fleets, worked out by hand."""

from __future__ import annotations

import pytest

from k8s4ai.scheduler.vram import placers, residency, vram_placer
from tests.scheduler.vram import builders
from tests.scheduler.vram.builders import GIB, layout, replica


def placed(result: placers.Placed | placers.Refused) -> placers.Placed:
    assert isinstance(result, placers.Placed), result
    return result


def vram(warm_aware: bool = True, nodes: int = 1, per_node: int = 4) -> vram_placer.VramPlacer:
    return vram_placer.VramPlacer(nodes, per_node, 80 * GIB, 2 * GIB, warm_aware=warm_aware)


def test_whole_gpus_fill_the_fullest_node_first() -> None:
    p = placers.WholeGpuPlacer(2, 4, 80 * GIB)
    assert placed(p.place(replica("a", 10, gpus=2), 0)).gpus == (0, 1)
    assert placed(p.place(replica("b", 10), 0)).gpus == (2,)
    assert placed(p.place(replica("c", 10, gpus=2), 0)).gpus == (4, 5)
    assert placed(p.place(replica("d", 10, gpus=2), 0)).gpus == (6, 7)
    refused = p.place(replica("e", 10, gpus=2), 0)
    assert refused == placers.Refused("no node has 2 free GPU(s)")
    p.remove("a", 1)
    assert p.gpus_in_use == 5
    assert isinstance(p.place(replica("f", 81), 0), placers.Refused)


def test_mig_takes_the_smallest_profile_on_the_fullest_gpu() -> None:
    p = placers.MigPlacer(1, 2, builders.geometry())
    assert placed(p.place(replica("a", 30), 0)) == placers.Placed((0,), profile="3g.40gb")
    assert placed(p.place(replica("b", 15), 0)) == placers.Placed((0,), profile="1g.20gb")
    assert placed(p.place(replica("c", 41), 0)) == placers.Placed((1,), profile="7g.80gb")
    assert p.layout(0) == layout("1g.20gb@0", "3g.40gb@4")
    assert placed(p.place(replica("d", 9), 0)).gpus == (0,)
    assert p.gpus_in_use == 2
    p.remove("c", 1)
    assert p.gpus_in_use == 1 and p.layout(1) == ()


def test_a_mig_refusal_says_when_moving_instances_would_make_room() -> None:
    p = placers.MigPlacer(1, 1, builders.geometry())
    for name in "abcd":
        placed(p.place(replica(name, 9), 0))
    assert p.layout(0) == layout("1g.10gb@0", "1g.10gb@4", "1g.10gb@5", "1g.10gb@6")
    p.remove("a", 1)
    p.remove("b", 1)
    assert p.layout(0) == layout("1g.10gb@0", "1g.10gb@5")
    refused = p.place(replica("e", 30), 0)
    assert refused == placers.Refused(
        "no GPU has a free 3g.40gb slot; moving instances on a partly used GPU would make one",
        repartition=True,
    )
    placed(p.place(replica("f", 20, gpus=1), 0))
    assert p.place(replica("g", 70), 0) == placers.Refused("no GPU has a free 7g.80gb slot")


@pytest.mark.parametrize(("warm_aware", "expected"), [(True, ((0,), True)), (False, ((1,), False))])
def test_warm_aware_placement_prefers_the_gpu_holding_the_weights(
    warm_aware: bool, expected: tuple[tuple[int, ...], bool]
) -> None:
    p = vram(warm_aware, per_node=3)
    assert placed(p.place(replica("a", 30, "m", weights_gib=14), 0)).gpus == (0,)
    assert placed(p.place(replica("b", 40, "x"), 0)).gpus == (0,)
    p.remove("a", 1)  # GPU 0: 24 GiB free, m's 14 GiB idle
    assert placed(p.place(replica("c", 60, "z"), 2)).gpus == (1,)  # GPU 1: 18 GiB free
    result = placed(p.place(replica("d", 18, "m", weights_gib=14), 3))
    assert (result.gpus, result.warm) == expected


def test_warm_aware_avoids_evicting_while_memory_is_free_elsewhere() -> None:
    p = vram(True)
    placed(p.place(replica("a", 60, "a", weights_gib=50), 0))
    p.remove("a", 1)  # GPU 0 holds 50 GiB of a, idle
    result = placed(p.place(replica("b", 40, "b"), 2))
    assert result == placers.Placed((1,))
    blind = vram(False)
    placed(blind.place(replica("a", 60, "a", weights_gib=50), 0))
    blind.remove("a", 1)
    assert placed(blind.place(replica("b", 40, "b"), 2)) == placers.Placed((0,), evicted=1)


def test_eviction_follows_the_pool_policy() -> None:
    p = vram_placer.VramPlacer(1, 1, 80 * GIB, 2 * GIB, warm_aware=True, policy="LRU")
    for t, model in enumerate("abc"):
        placed(p.place(replica(model, 25, model, weights_gib=20), t))
    for t, model in enumerate("bac", start=10):
        p.remove(model, float(t))  # idle since: b 10, a 11, c 12
    result = placed(p.place(replica("d", 50, "d"), 20))
    assert result.evicted == 2
    assert [c.model for c in p.residency.idle(0)] == ["c"]


def test_tensor_parallel_replicas_take_clear_gpus_on_one_node() -> None:
    p = vram(True, nodes=2, per_node=2)
    p.seed(0, residency.Copy("pinned", 10 * GIB, pinned=True, listed=True), 0.0)
    placed(p.place(replica("small", 10, "s", weights_gib=5), 0))  # GPU 0 (tightest fit)
    p.remove("small", 1)
    result = placed(p.place(replica("tp", 70, "big", weights_gib=120, gpus=2), 2))
    assert result.gpus == (2, 3)
    assert isinstance(p.place(replica("tp2", 70, "big", gpus=2), 3), placers.Refused)
    p.remove("tp", 4)
    assert p.residency.holders("big") == ()
    assert p.resident() == [
        (0, residency.Copy("pinned", 10 * GIB, pinned=True, listed=True)),
        (0, residency.Copy("s", 5 * GIB)),
    ]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("whole", "needs 81.0 GiB per GPU; a GPU has 80.0 GiB"),
        ("mig", "needs 81.0 GiB; the largest MIG profile, 7g.80gb, has 80.0 GiB"),
        ("vram", "needs 81.0 GiB per GPU; a GPU offers 78.0 GiB"),
    ],
)
def test_every_placer_says_why_a_replica_cannot_fit(mode: str, reason: str) -> None:
    p: placers.Placer = {
        "whole": placers.WholeGpuPlacer(1, 1, 80 * GIB),
        "mig": placers.MigPlacer(1, 1, builders.geometry()),
        "vram": vram(True, per_node=1),
    }[mode]
    assert p.place(replica("huge", 81), 0) == placers.Refused(reason)
    placed(p.place(replica("fits", 70), 0))
    assert isinstance(p.place(replica("second", 20), 0), placers.Refused)


def test_weights_of_another_size_are_not_adopted() -> None:
    """A copy of the same model name but another size is other weights: adopting it and
    keeping it on leaving could over-commit the GPU once others moved into the room."""
    p = vram(True, per_node=1)
    placed(p.place(replica("a", 50, "m", weights_gib=45), 0))
    p.remove("a", 1)  # m's 45 GiB idle
    small = placed(p.place(replica("b", 12, "m", weights_gib=10), 2))
    assert not small.warm
    placed(p.place(replica("c", 50, "x"), 3))  # evicts the 45 GiB copy
    p.remove("b", 4)
    assert p.residency.idle(0) == (residency.Copy("m", 10 * GIB),)
