"""DeadGap (plugins/gaps): which gaps are dead, what a live gap ends up wasting, and where a
fractional pod goes because of it. Numbers are worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.plugins import arrivalmix, gaps
from tests.scheduler.builders import at, cluster, node, pod, scores, used


def sizes(**counts: int) -> np.ndarray:
    table = np.zeros(pods.MILLI + 1, dtype=np.int64)
    for name, count in counts.items():
        table[int(name.removeprefix("s"))] = count
    return table


NOTHING_DEAD = np.zeros(pods.MILLI + 1, dtype=bool)


@pytest.mark.parametrize(
    ("table", "dead", "expected"),
    [
        # Only 500 fits: 700 → 200 left, which nothing fits; 1000 → 500 → 0.
        pytest.param(sizes(s500=1), [], {300: 300, 500: 0, 700: 200, 1000: 0}, id="one-size"),
        # A dead gap wastes itself even where a pod would fit.
        pytest.param(sizes(s500=1), [700], {700: 700, 1000: 0}, id="dead-wastes-itself"),
        # 300 (×3) and 600 (×1): 700 → (3·W(400) + W(100)) / 4 = (3·100 + 100) / 4 = 100;
        # 650 → (3·W(350) + W(50)) / 4 = 50; 900 → (3·W(600) + W(300)) / 4 = 0.
        pytest.param(sizes(s300=3, s600=1), [], {650: 50, 700: 100, 900: 0}, id="two-sizes"),
        # An empty mix: every gap wastes itself.
        pytest.param(sizes(), [], {10: 10, 999: 999}, id="empty-mix"),
    ],
)
def test_expected_waste(table: np.ndarray, dead: list[int], expected: dict[int, float]) -> None:
    mask = NOTHING_DEAD.copy()
    mask[dead] = True
    waste = gaps.expected_waste(mask, table)
    assert {r: pytest.approx(float(waste[r])) for r in expected} == expected


def mix_of(*seen: pods.PodRequest) -> arrivalmix.ArrivalMix:
    mix = arrivalmix.ArrivalMix()
    for p in seen:
        mix.observe(p)
    return mix


@pytest.mark.parametrize(
    ("preload", "cost_of_200"),
    [
        # Free 2400 milli; seen 1200 milli in 2 pods, so 4 pods to come, half of them 200:
        # 2 pods for 2 gaps of 200 leaves no surplus for a third → dead, costs itself.
        pytest.param((800, 800, 0, 0), 200.0, id="two-gaps-wait-dead"),
        # Free 2200 milli → 3.67 pods to come, 1.83 of 200, for one gap: a surplus of 0.83,
        # less than the one more gap needs → dead.
        pytest.param((800, 1000, 0, 0), 200.0, id="one-gap-short-of-a-pod-dead"),
        # Free 3200 milli → 5.33 pods to come, 2.67 of 200, for one gap → alive; a pod of
        # 200 would fill it exactly, so it ends up wasting nothing.
        pytest.param((800, 0, 0, 0), 0.0, id="one-gap-waits-alive"),
    ],
)
def test_a_gap_is_dead_when_more_gaps_than_pods_to_come_wait_for_its_fillers(
    preload: tuple[int, ...], cost_of_200: float
) -> None:
    snap = used(cluster(node("a", gpus=4)), "a", *preload)
    mix = mix_of(pod(gpu=0.2), pod(gpus=1))
    assert gaps.leftover_cost(snap, mix)[200] == pytest.approx(cost_of_200)


# Seen one pod each of 470, 320 and 650 (1440 milli in 3 pods). Whatever the node layout, the
# cluster below has 1530 milli free, so 3.19 pods are to come, 1.06 of each size. Surplus of
# pods over waiting gaps, by size: 320 → 1.06, 470 → 2.12, 530 (one gap) → 1.12, 650 → 2.19.
# Dead: every gap below 320 (nothing fits). Live: W(680) = (W(360) + W(210) + W(30)) / 3
# = (40 + 210 + 30) / 3 = 93.3; W(530) = (W(210) + W(60)) / 2 = 135.
SEEN = (pod(gpu=0.47), pod(gpu=0.32), pod(gpu=0.65))


def test_a_pod_avoids_leaving_a_dead_gap_that_best_fit_would_leave() -> None:
    snap = used(cluster(node("half", gpus=1), node("fresh", gpus=1)), "half", 470)
    plugin = gaps.DeadGap(mix_of(*SEEN))
    # 320 beside 470 leaves 210, dead (cost 210); on a fresh GPU 680, live (cost 93.3).
    assert scores(plugin, snap, pod(gpu=0.32)) == {
        "half": pytest.approx(100 * (1 - 210 / 1000)),
        "fresh": pytest.approx(100 * (1 - 280 / 3 / 1000)),
    }
    # 470 beside 470 leaves 60 (dead, cost 60), a fresh GPU 530 (live, cost 135).
    best = scores(plugin, snap, pod(gpu=0.47))
    assert best["half"] > best["fresh"]


@pytest.mark.parametrize(
    ("milli", "gpu"),
    [pytest.param(320, 1, id="320-takes-the-fresh-GPU"), pytest.param(470, 0, id="470-pairs")],
)
def test_select_takes_the_cheapest_gap_on_the_node(milli: int, gpu: int) -> None:
    snap = used(cluster(node("a", gpus=2)), "a", 470, 0)
    plugin = gaps.DeadGap(mix_of(*SEEN))
    assert plugin.select(snap, at(snap, "a"), pod(gpu=milli / 1000)) == (gpu,)


def test_equal_costs_go_to_the_tightest_gpu() -> None:
    # Nothing seen fits below 500: every leftover is dead and costs itself, so 100 milli
    # goes where it leaves least (GPU 1: 300 - 100 = 200).
    snap = used(cluster(node("a", gpus=3)), "a", 500, 700, 0)
    plugin = gaps.DeadGap(mix_of(pod(gpus=1)))
    assert plugin.select(snap, at(snap, "a"), pod(gpu=0.1)) == (1,)


def test_whole_gpu_and_cpu_only_pods_are_left_to_the_next_plugin() -> None:
    snap = used(cluster(node("a", gpus=2), node("b", gpus=2)), "a", 470)
    plugin = gaps.DeadGap(mix_of(*SEEN))
    assert scores(plugin, snap, pod(gpus=1)) == {"a": 0.0, "b": 0.0}
    assert scores(plugin, snap, pod(cpu=4000)) == {"a": 0.0, "b": 0.0}
    assert plugin.select(snap, at(snap, "b"), pod(gpus=2)) == (0, 1)


@pytest.mark.parametrize(
    ("poor", "why"),
    [
        pytest.param(node("poor", gpus=1, cpu=1500), "CPU", id="cpu"),
        pytest.param(node("poor", gpus=1, memory=1500), "memory", id="memory"),
    ],
)
def test_a_gap_on_a_node_left_without_cpu_or_memory_for_any_filler_is_dead(
    poor: snapshot.NodeSpec, why: str
) -> None:
    # Both GPUs fresh, 2000 milli free: 4.17 pods to come, 1.39 of each size seen, so gaps
    # of 320 and up are live and W(680) = 93.3 as above. Every pod seen asked 1000m CPU and
    # 1024Mi; the pod leaves 500 of one of them on "poor", so its 680 can take none.
    snap = cluster(poor, node("rich", gpus=1))
    plugin = gaps.DeadGap(mix_of(*SEEN))
    assert scores(plugin, snap, pod(gpu=0.32, cpu=1000, memory=1024)) == {
        "poor": pytest.approx(100 * (1 - 680 / 1000)),
        "rich": pytest.approx(100 * (1 - 280 / 3 / 1000)),
    }, why


def test_a_gap_weighs_its_expected_waste_by_the_share_of_fillers_the_node_can_still_host() -> None:
    # Seen: two pods of 320, asking 1000m and 4000m CPU (320 milli a pod). One fresh GPU,
    # 1000 milli free: 3.1 pods of 320 to come, so gaps of 320 and up are live, and
    # W(680) = W(360) = W(40) = 40. The node keeps 2000m after the pod: only the first
    # filler fits, so the 680 left costs 0.5 · 40 + 0.5 · 680 = 360.
    snap = cluster(node("a", gpus=1, cpu=3000))
    plugin = gaps.DeadGap(mix_of(pod(gpu=0.32, cpu=1000), pod(gpu=0.32, cpu=4000)))
    assert scores(plugin, snap, pod(gpu=0.32, cpu=1000)) == {
        "a": pytest.approx(100 * (1 - 360 / 1000))
    }
