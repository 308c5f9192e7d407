"""fragmentation.arrival_sequence (R3.4–R3.6): the name-sorted workload in a random order,
then draws with replacement until the next draw's per-GPU request would cross the target."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import cast

import numpy as np
import pytest

from k8s4ai.backends.sim import fragmentation
from k8s4ai.scheduler import pods
from tests.scheduler.builders import pod


class ScriptedRng:
    """Stands in for the generator: a fixed permutation, then fixed draws."""

    def __init__(self, permutation: Sequence[int], draws: Sequence[int]) -> None:
        self._permutation = list(permutation)
        self._draws = iter(draws)

    def permutation(self, n: int) -> np.ndarray:
        assert n == len(self._permutation)
        return np.array(self._permutation)

    def integers(self, n: int) -> int:
        return next(self._draws)


def scripted(permutation: Sequence[int], draws: Sequence[int]) -> np.random.Generator:
    return cast(np.random.Generator, ScriptedRng(permutation, draws))


# Given out of name order; sorted: a (2 whole GPUs, 2000), b (CPU only), c (half, 500).
C, A, B = pod("c", gpu=0.5), pod("a", gpus=2), pod("b")
WORKLOAD = [C, A, B]


@pytest.mark.parametrize(
    ("capacity", "tune", "draws", "expected"),
    [
        pytest.param(
            4000,
            1.5,
            [0, 1, 0, 2],
            # target 6000; workload total 2500. Draw a: 2500 + 1000 (per GPU!) ≤ 6000 → 4500;
            # b: 4500 + 0 → 4500; a: 4500 + 1000 ≤ 6000 → 6500 (past the target);
            # c: 6500 + 500 > 6000 → stop, c is not appended.
            ["c", "a", "b", "a", "b", "a"],
            id="multi-gpu-draw-judged-per-gpu-overshoots",
        ),
        pytest.param(
            4000,
            1.5,
            [0, 1, 0, 1],
            # as above, but once past the target even a CPU-only draw stops: 6500 + 0 > 6000.
            ["c", "a", "b", "a", "b", "a"],
            id="cpu-only-draw-stops-once-over",
        ),
        pytest.param(
            4000,
            1.0,
            [1, 1, 2, 2, 2, 0],
            # target 4000; b, b: 2500; c: 3000, 3500, 4000 (= target is allowed);
            # a: 4000 + 1000 > 4000 → stop.
            ["c", "a", "b", "b", "b", "c", "c", "c"],
            id="reaching-the-target-exactly-is-allowed",
        ),
        pytest.param(
            2000,
            1.0,
            [1],
            # target 2000 < workload total 2500: the first draw (even CPU-only) stops.
            ["c", "a", "b"],
            id="workload-already-over-target",
        ),
    ],
)
def test_arrival_sequence_by_hand(
    capacity: int, tune: float, draws: list[int], expected: list[str]
) -> None:
    # Permutation [2, 0, 1] of the name-sorted [a, b, c] → c, a, b.
    sequence = fragmentation.arrival_sequence(WORKLOAD, capacity, tune, scripted([2, 0, 1], draws))
    assert [p.name for p in sequence] == expected


def synthetic_workload() -> list[pods.PodRequest]:
    rng = np.random.default_rng(5)
    shapes = [pod(gpu=0.25), pod(gpu=0.5), pod(gpus=1), pod(gpus=4), pod(gpus=8), pod(cpu=8000)]
    return [
        pods.PodRequest(f"w{i:03d}", s.cpu_milli, s.memory_mib, s.num_gpu, s.gpu_milli)
        for i, s in enumerate(shapes[k] for k in rng.integers(len(shapes), size=60))
    ]


CAPACITY = 256_000


def arrivals(seed: int) -> list[pods.PodRequest]:
    workload = synthetic_workload()
    return fragmentation.arrival_sequence(workload, CAPACITY, 1.3, np.random.default_rng(seed))


@pytest.mark.parametrize("seed", [42, 43, 51])
def test_a_permutation_then_draws_that_end_near_the_target(seed: int) -> None:
    workload, sequence = synthetic_workload(), arrivals(seed)
    head, tail = sequence[: len(workload)], sequence[len(workload) :]
    assert sorted(p.name for p in head) == sorted(p.name for p in workload)
    assert head != workload  # shuffled
    assert tail and {p.name for p in tail} <= {p.name for p in workload}
    assert len(tail) > len(workload)  # so some pod was drawn twice: with replacement
    assert Counter(p.name for p in tail).most_common(1)[0][1] > 1
    total = sum(p.gpu_request_milli for p in sequence)
    target = 1.3 * CAPACITY  # 332800
    # A draw is appended only while total + its per-GPU request (≤ 1000) ≤ target, and adds
    # at most 8000: the end is ≤ target + 7000. The draw that stopped had total + ≤ 1000 >
    # target, so the end is > target − 1000 (R3.6).
    running = sum(p.gpu_request_milli for p in workload)
    for p in tail:
        assert running + p.gpu_milli <= target
        running += p.gpu_request_milli
    assert target - 1000 < total <= target + 7000


def test_the_sequence_is_decided_by_the_seed() -> None:
    assert arrivals(42) == arrivals(42)
    assert arrivals(42) != arrivals(43)


@pytest.mark.timeout(1)
def test_a_cpu_only_workload_does_not_hang() -> None:
    sequence = fragmentation.arrival_sequence(
        [pod("x"), pod("y")], 8000, 1.3, np.random.default_rng(0)
    )
    assert sorted(p.name for p in sequence[:2]) == ["x", "y"]
