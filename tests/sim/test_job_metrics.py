"""Job-replay metrics on hand-made results, where every number can be worked out on paper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from k8s4ai.backends.sim import job_metrics, jobs

H = 3600.0


def outcome(
    name: str,
    submit: float,
    start: float,
    finish: float,
    gpus: int = 8,
    queue: str = "default",
    preemptions: int = 0,
    lost: float = 0.0,
    idle: float = 0.0,
    duration: float | None = None,
) -> jobs.JobOutcome:
    return jobs.JobOutcome(
        name,
        queue,
        gpus,
        submit,
        finish - start if duration is None else duration,
        start,
        finish,
        preemptions,
        lost,
        idle,
    )


def result(
    outcomes: list[jobs.JobOutcome],
    allocated: list[tuple[float, float]],
    nodes: int = 2,
    policy: str = "p",
) -> jobs.ReplayResult:
    return jobs.ReplayResult(
        policy, jobs.Cluster(nodes), tuple(outcomes), tuple(allocated), ("huge",), (), 7, 0.5
    )


@pytest.fixture
def two_jobs() -> jobs.ReplayResult:
    """16 GPUs. a: 8 GPUs from 0 to 1 h. b: submitted at 0, waits, runs 8 GPUs 1 h → 3 h,
    and held 4 GPUs idle for the half hour before it started."""
    return result(
        [outcome("a", 0, 0, H), outcome("b", 0, H, 3 * H, idle=4 * 0.5 * H)],
        [(0.0, 8.0), (0.5 * H, 12.0), (H, 8.0), (3 * H, 0.0)],
    )


def test_jct_queueing_and_counts(two_jobs: jobs.ReplayResult) -> None:
    m = job_metrics.summarise(two_jobs)
    assert (m.policy, m.jobs, m.skipped, m.unfinished, m.cluster_gpus) == ("p", 2, 1, 0, 16)
    assert m.avg_jct == pytest.approx(2 * H)
    assert m.p99_jct == pytest.approx(H + 0.99 * 2 * H)
    assert m.avg_queueing == pytest.approx(0.5 * H)
    assert m.p99_queueing == pytest.approx(0.99 * H)
    assert (m.makespan, m.cycles, m.wall_seconds) == (3 * H, 7, 0.5)


def test_utilisation_counts_held_gpus_over_the_period_and_the_arrivals(
    two_jobs: jobs.ReplayResult,
) -> None:
    m = job_metrics.summarise(two_jobs)
    # Held: 8 × 0.5 + 12 × 0.5 + 8 × 2 = 26 GPU-h over 16 GPUs × 3 h.
    assert m.utilisation == pytest.approx(26 / 48)
    # Useful: 8 × 1 + 8 × 2 = 24 GPU-h.
    assert m.useful_utilisation == pytest.approx(24 / 48)
    # Both arrived at 0: an empty arrival window.
    assert math.isnan(m.utilisation_arrivals)
    assert m.idle_gpu_hours == pytest.approx(2.0)


def test_held_integrates_a_step_series_between_bounds() -> None:
    steps = [(0.0, 0.0), (10.0, 4.0), (20.0, 2.0), (40.0, 0.0)]
    assert job_metrics.held(steps, 0, 40) == pytest.approx(4 * 10 + 2 * 20)
    assert job_metrics.held(steps, 15, 30) == pytest.approx(4 * 5 + 2 * 10)
    assert job_metrics.held(steps, 30, 30) == 0.0
    assert job_metrics.held(steps, 35, 100) == pytest.approx(2 * 5)


def test_preemptions_and_lost_gpu_hours() -> None:
    r = result(
        [
            outcome("a", 0, 0, 4 * H, gpus=4, preemptions=2, lost=0.5 * H, duration=3 * H),
            outcome("b", H, H, 2 * H, gpus=2),
        ],
        [(0.0, 4.0), (4 * H, 0.0)],
    )
    m = job_metrics.summarise(r)
    assert (m.preemptions, m.preempted_jobs) == (2, 1)
    assert m.lost_gpu_hours == pytest.approx(4 * 0.5)


@pytest.mark.parametrize(
    ("capacity", "demand", "weights", "expected"),
    [
        (10, [10, 10], [1, 1], [5, 5]),
        (10, [10, 10], [3, 1], [7.5, 2.5]),
        # A queue asking less than its share gives the rest to the others.
        (10, [2, 10, 10], [1, 1, 2], [2, 8 / 3, 16 / 3]),
        (10, [1, 2], [1, 1], [1, 2]),
        (10, [0, 0], [1, 1], [0, 0]),
        # Capped in turn: a wants 1 of its 4; the 11 left split 5.5 each, b wants 3; c gets 8.
        (12, [1, 3, 20], [1, 1, 1], [1, 3, 8]),
    ],
    ids=["equal", "weighted", "capped-by-demand", "all-satisfied", "idle", "cascade"],
)
def test_water_filling(
    capacity: float, demand: list[float], weights: list[float], expected: list[float]
) -> None:
    got = job_metrics.water_fill(
        np.array([capacity], dtype=float), np.array([demand], dtype=float), np.array(weights)
    )
    assert got[0] == pytest.approx(expected)


def test_an_unfair_run_scores_below_one() -> None:
    """16 GPUs, queues a and b of equal weight, each submitting 16 GPUs of work at 0. a runs
    first, for 1 h, while b waits; then b runs for 1 h. Entitlement is per instant: in the
    first hour each is entitled to 8 GPUs, in the second b alone asks, so it is entitled to
    all 16. a got twice its entitlement, b two thirds."""
    fair = result(
        [
            outcome("a1", 0, 0, H, queue="a"),
            outcome("a2", 0, 0, H, queue="a"),
            outcome("b1", 0, H, 2 * H, queue="b"),
            outcome("b2", 0, H, 2 * H, queue="b"),
        ],
        [(0.0, 16.0), (2 * H, 0.0)],
    )
    m = job_metrics.summarise(fair, {"a": 1.0, "b": 1.0})
    by_queue = {s.queue: s for s in m.shares}
    # a: demand 16 in the first hour (entitled 8), 0 after; b: 16 for two hours, entitled
    # 8 then 16.
    assert by_queue["a"].entitled == pytest.approx(8.0)
    assert by_queue["b"].entitled == pytest.approx(24.0)
    assert by_queue["a"].received == pytest.approx(16.0)
    assert by_queue["b"].received == pytest.approx(16.0)
    assert by_queue["a"].ratio == pytest.approx(2.0)
    assert by_queue["b"].ratio == pytest.approx(2 / 3)
    assert m.jain == pytest.approx((2 + 2 / 3) ** 2 / (2 * (4 + 4 / 9)))


def test_weights_shift_entitlement() -> None:
    r = result(
        [outcome("a", 0, 0, H, queue="a", gpus=16), outcome("b", 0, H, 2 * H, queue="b", gpus=16)],
        [(0.0, 16.0), (2 * H, 0.0)],
    )
    shares = {s.queue: s for s in job_metrics.shares(r, {"a": 3.0, "b": 1.0})}
    # First hour both ask 16: a is entitled to 12, b to 4; second hour b alone, 16.
    assert shares["a"].entitled == pytest.approx(12.0)
    assert shares["b"].entitled == pytest.approx(20.0)
    assert shares["a"].weight == 3.0


def test_a_preempted_job_is_spread_over_its_span() -> None:
    """Ran 1 h of work, lost 0.5 h, over a 3 h span: held at half rate."""
    r = result(
        [outcome("a", 0, 0, 3 * H, gpus=8, preemptions=1, lost=0.5 * H, duration=H)],
        [(0.0, 8.0), (3 * H, 0.0)],
    )
    (share,) = job_metrics.shares(r, {})
    assert share.received == pytest.approx(8 * 1.5)
    assert share.entitled == pytest.approx(8 * 3)


def test_jain_index() -> None:
    assert job_metrics.jain([1.0, 1.0, 1.0]) == pytest.approx(1.0)
    assert job_metrics.jain([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)
    assert job_metrics.jain([1.0, math.nan]) == pytest.approx(1.0)
    assert math.isnan(job_metrics.jain([]))


def test_an_empty_result_gives_nans_not_errors() -> None:
    m = job_metrics.summarise(result([], [(0.0, 0.0)]))
    assert m.jobs == 0
    assert math.isnan(m.avg_jct) and math.isnan(m.p99_queueing) and math.isnan(m.utilisation)
    assert m.shares == () and math.isnan(m.jain)
