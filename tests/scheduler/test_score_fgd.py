"""FGD (R6.8, R7): typical pods from the workload, node fragmentation for them, the score
trunc(100 · sigmoid(−Δ/1000)) and the GPU a fractional pod takes."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.plugins import fgd, selectors
from tests.scheduler.builders import at, cluster, node, pod, put, used


def typical_rows(typical: fgd.TypicalPods) -> list[tuple[int, int, int, float]]:
    return [
        (int(c), int(m), int(n), float(w))
        for c, m, n, w in zip(
            typical.cpu_milli, typical.gpu_milli, typical.num_gpu, typical.weight, strict=True
        )
    ]


A = pod("a", cpu=1000, gpu=0.5)
B = pod("b", cpu=2000, gpus=1)
C = pod("c", cpu=4000)
D = pod("d", cpu=1000, gpus=2)
E = pod("e", cpu=8000, gpu=0.25)


@pytest.mark.parametrize(
    ("workload", "expected"),
    [
        pytest.param(
            [A] * 10 + [B] * 5 + [C] * 3 + [D] + [E],
            # 95% of 20 = 19: A, B, C (18), then D and E tie at 1 and the larger key wins:
            # E (8000, 250, 1) > D (1000, 1000, 2). 10+5+3+1 = 19 → stop; weights c/19.
            [
                (1000, 500, 1, 10 / 19),
                (2000, 1000, 1, 5 / 19),
                (4000, 0, 0, 3 / 19),
                (8000, 250, 1, 1 / 19),
            ],
            id="prefix-covering-95-percent",
        ),
        pytest.param(
            [C, A, B],
            # 95% of 3 = 2.85: all three, equal counts ordered by key descending.
            [(4000, 0, 0, 1 / 3), (2000, 1000, 1, 1 / 3), (1000, 500, 1, 1 / 3)],
            id="ties-by-key-descending",
        ),
        pytest.param(
            [A] * 19 + [B],
            # 19 ≥ 19: A alone covers 95%, renormalised to weight 1.
            [(1000, 500, 1, 1.0)],
            id="renormalised-to-one",
        ),
        pytest.param(
            [A] * 18 + [B, C],
            # 18 < 19; B and C tie at 1, C (4000, …) > B (2000, …); 19/19.
            [(1000, 500, 1, 18 / 19), (4000, 0, 0, 1 / 19)],
            id="tie-at-the-cut",
        ),
    ],
)
def test_typical_pods_from_workload(
    workload: list[pods.PodRequest], expected: list[tuple[int, int, int, float]]
) -> None:
    # Weights are count / covered, so they are exactly the fractions written.
    assert typical_rows(fgd.TypicalPods.from_workload(workload, ["G2"])) == expected


def test_typical_pods_know_which_models_each_type_may_use() -> None:
    workload = [
        pod("t4", gpu=0.5, models="T4"),
        pod("t4-or-v100", gpu=0.5, models="V100|T4"),
        pod("any", gpu=0.25),
        pod("cpu", cpu=500),
    ]
    typical = fgd.TypicalPods.from_workload(workload, ["A100", "T4", "V100"])
    # All counts tie; key descending: (1000, 500, 1, "T4|V100") > (1000, 500, 1, "T4")
    # > (1000, 250, 1, "") > (500, 0, 0, ""). The last column is "no GPU".
    assert typical.access.tolist() == [
        [False, True, True, False],
        [False, True, False, False],
        [True, True, True, False],
        [True, True, True, False],
    ]


# A 0.5, B 0.25, C 0.25: a half GPU, a whole GPU, CPU only — each with 1000m CPU.
# Counts 2, 1, 1 of 4 (95% = 3.8 → all); B (1000, 1000, 1) > C (1000, 0, 0) on the tie.
TYPICAL = fgd.TypicalPods.from_workload(
    [pod("a1", gpu=0.5), pod("a2", gpu=0.5), pod("b", gpus=1), pod("c")], ["G2", "T4"]
)


def test_the_typical_pods_of_the_fragmentation_examples() -> None:
    assert typical_rows(TYPICAL) == [(1000, 500, 1, 0.5), (1000, 1000, 1, 0.25), (1000, 0, 0, 0.25)]


def fragmentation_cluster() -> snapshot.ClusterSnapshot:
    snap = cluster(
        node("x", gpus=4, cpu=64_000),
        node("y", gpus=4, cpu=1500),
        node("z", gpus=2, cpu=64_000),
        node("e", gpus=2, cpu=64_000),
        node("full", gpus=2),
        node("cpu", cpu=64_000),
        node("t4", gpus=2, model="T4"),
    )
    used(snap, "x", 700, 0, 0, 400)  # free [300, 1000, 1000, 600]
    used(snap, "y", 700, 0, 0, 400)  # same GPUs, 1500m CPU
    used(snap, "z", 400)  # free [600, 1000]
    used(snap, "full", 1000, 1000)
    return used(snap, "t4", 0, 800)  # free [1000, 200]


def test_node_fragmentation_for_typical_pods() -> None:
    snap = fragmentation_cluster()
    frag = TYPICAL.fragmentation(snap.gpu_free, snap.cpu_free, snap.node_model)
    assert dict(zip(snap.names, frag.tolist(), strict=True)) == pytest.approx(
        {
            # A fits GPUs 1-3: fragment 300; B fits GPUs 1, 2: 300 + 600; C: all 2900.
            "x": 0.5 * 300 + 0.25 * 900 + 0.25 * 2900,  # 1100
            # 1500m CPU ≥ 1000m for every type: as x.
            "y": 1100,
            # A fits both: 0; B fits GPU 1: 600; C: 1600.
            "z": 0.5 * 0 + 0.25 * 600 + 0.25 * 1600,  # 550
            "e": 0.25 * 2000,  # only the CPU-only type sees fragment
            "full": 0,
            "cpu": 0,
            "t4": 0.5 * 200 + 0.25 * 200 + 0.25 * 1200,  # 450
        }
    )


def test_cpu_shortage_and_wrong_model_make_all_free_gpu_fragment() -> None:
    snap = cluster(node("g2", gpus=2, cpu=900), node("t4", gpus=2, model="T4"))
    used(snap, "g2", 800)  # free [200, 1000]
    used(snap, "t4", 800)
    # Types: T4-only half GPU (weight 0.5), any-model half GPU (0.5); the first key is larger.
    typical = fgd.TypicalPods.from_workload(
        [pod(gpu=0.5, models="T4")] * 2 + [pod(gpu=0.5)] * 2, snap.models
    )
    frag = typical.fragmentation(snap.gpu_free, snap.cpu_free, snap.node_model)
    # g2: 900m < 1000m CPU, so neither type fits: 1200 each.
    # t4: T4 type fits GPU 1, fragment 200; any-model type also 200.
    assert frag.tolist() == pytest.approx([1200, 200])
    snap = cluster(node("g2", gpus=2), node("t4", gpus=2, model="T4"))
    used(snap, "g2", 800)
    # g2 with CPU: the T4-only type has no access (1200), the other fragments 200.
    frag = typical.fragmentation(snap.gpu_free, snap.cpu_free, snap.node_model)
    assert frag.tolist() == pytest.approx([0.5 * 1200 + 0.5 * 200, 0.5 * 0 + 0.5 * 0])


# Sigmoid values: σ(x) = 1/(1 + e^−x).
# Δ −200 → σ(0.2) = 0.5498 → 54;  Δ −250 → σ(0.25) = 0.5622 → 56;  Δ 0 → 50;
# Δ 1300 → σ(−1.3) = 0.2142 → 21;  Δ 800 → σ(−0.8) = 0.3100 → 31;  Δ 1800 → σ(−1.8) = 0.1419 → 14.
@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(
            pod(gpu=0.5),
            {
                # F0 1100. GPU 1 → [300, 500, 1000, 600]: A 300, B 300+500+600, C 2400:
                # 150 + 350 + 600 = 1100 (Δ 0); GPU 2 alike; GPU 3 → [300, 1000, 1000, 100]:
                # A 400, B 400, C 2400: 200 + 100 + 600 = 900 (Δ −200) → 54 on GPU 3.
                "x": (54, (3,)),
                # After the pod 500m CPU < 1000m: every type lacks CPU, F = G_left = 2400,
                # Δ 1300 on every GPU → 21, lowest fitting index (GPU 0 has only 300).
                "y": (21, (1,)),
                # F0 550. GPU 0 → [100, 1000]: 50 + 25 + 275 = 350 (Δ −200);
                # GPU 1 → [600, 500]: 0 + 0.25·1100 + 0.25·1100 = 550 (Δ 0) → 54 on GPU 0.
                "z": (54, (0,)),
                # F0 500; either GPU → [500, 1000]: 0 + 125 + 375 = 500 (Δ 0): tie → GPU 0.
                "e": (50, (0,)),
            },
            id="fractional",
        ),
        pytest.param(
            pod(gpus=1),
            {
                # GPU 1 taken → [300, 0, 1000, 600]: A 300, B 900, C 1900:
                # 150 + 225 + 475 = 850 (Δ −250).
                "x": (56, (1,)),
                # As x, but every type then lacks CPU: F = 1900 (Δ 800).
                "y": (31, (1,)),
                # GPU 1 taken → [600, 0]: 0 + 0.25·600 + 0.25·600 = 300 (Δ −250).
                "z": (56, (1,)),
                # → [0, 1000]: C only, 250 (Δ −250).
                "e": (56, (0,)),
            },
            id="whole-gpu",
        ),
        pytest.param(
            pod(),
            {
                "x": (50, ()),
                "y": (14, ()),  # 500m CPU left: F 1100 → 2900 (Δ 1800)
                "z": (50, ()),
                "e": (50, ()),
            },
            id="cpu-only",
        ),
    ],
)
def test_fgd_score_and_gpu_choice(
    p: pods.PodRequest, expected: dict[str, tuple[int, tuple[int, ...]]]
) -> None:
    snap = fragmentation_cluster()
    plugin = fgd.FragmentationGradient(TYPICAL)
    names = list(expected)
    values = plugin.score(snap, p, np.array([at(snap, n) for n in names]))
    got = {
        n: (float(s), plugin.select(snap, at(snap, n), p))
        for n, s in zip(names, values, strict=True)
    }
    assert got == expected


def test_fgd_puts_a_share_where_fragmentation_grows_least_not_on_the_tightest_gpu() -> None:
    snap = used(cluster(node("n", gpus=2), node("m", gpus=2)), "n", 400)  # n: free [600, 1000]
    plugin = fgd.FragmentationGradient(fgd.TypicalPods.from_workload([pod(gpu=0.5)], ["G2"]))
    share = pod(gpu=0.2)
    # Only type: half a GPU. F0 = 0. GPU 0 → [400, 1000]: fragment 400 → σ(−0.4) = 0.401 → 40.
    # GPU 1 → [600, 800]: both still fit a half → 0 → 50.
    assert (float(plugin.score(snap, share, np.array([0]))[0]), plugin.select(snap, 0, share)) == (
        50.0,
        (1,),
    )
    assert selectors.BestFitGpu().select(snap, 0, share) == (0,)


def test_fgd_whole_gpu_pods_take_the_lowest_free_gpus() -> None:
    snap = put(cluster(node("n", gpus=4)), "n", pod(gpus=1), (1,))
    assert fgd.FragmentationGradient(TYPICAL).select(snap, 0, pod(gpus=2)) == (0, 2)
