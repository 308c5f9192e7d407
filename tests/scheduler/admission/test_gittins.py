"""The k8s4ai policy's learning: a Kaplan-Meier estimate over finished and still-running
jobs, and the Gittins index computed from it."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.scheduler.admission import policies, workload

from .builders import job

GRID = policies.service_grid()


def test_kaplan_meier_corrects_for_jobs_still_running() -> None:
    rng = np.random.default_rng(1)
    total = rng.exponential(10_000, 20_000)
    seen = rng.uniform(0, 30_000, len(total))
    service, ended = np.minimum(total, seen), total <= seen
    at = np.array([5_000.0, 10_000.0, 20_000.0])
    truth = np.exp(-at / 10_000)
    levels, _ = policies.survival(service, ended, at)
    assert levels == pytest.approx(truth, abs=0.02)
    naive, _ = policies.survival(service[ended], ended[ended], at)
    assert np.all(naive < truth - 0.1)


def test_survival_area_is_the_integral_of_the_step_function() -> None:
    service = np.array([10.0, 20.0, 30.0, 40.0])
    ended = np.array([True, False, True, True])
    levels, area = policies.survival(service, ended, np.array([0.0, 10.0, 25.0, 35.0, 50.0]))
    # S = 1 on [0,10), 3/4 on [10,30), 3/4·1/2 on [30,40), 0 after.
    assert levels.tolist() == pytest.approx([1.0, 0.75, 0.75, 0.375, 0.0])
    assert area.tolist() == pytest.approx([0.0, 10.0, 21.25, 26.875, 28.75])


def test_index_of_one_known_length_rises_until_it() -> None:
    table = policies.gittins_table(np.full(50, 1_000.0), np.ones(50, bool), GRID)
    before = table[GRID < 1_000]
    assert np.all(np.diff(before) > 0)
    assert np.isnan(table[GRID >= 1_000]).all()


def test_index_favours_fresh_jobs_when_most_are_short() -> None:
    service = np.array([100.0] * 90 + [100_000.0] * 10)
    table = policies.gittins_table(service, np.ones(100, bool), GRID)
    fresh, past_the_short = table[0], table[np.searchsorted(GRID, 200)]
    assert fresh > 50 * past_the_short


def _finished(policy: policies.LearnedGittins, name: str, gpus: int, service: float) -> None:
    j = workload.Job(job(name, gpus=gpus, per_pod=8))
    j.attained = service
    j.phase = workload.Phase.FINISHED
    policy.observe(j)


def _index(policy: policies.LearnedGittins, gpus: int, attained: float, name: str = "x") -> float:
    j = workload.Job(job(name, gpus=gpus, per_pod=8))
    j.attained = attained
    return policy.index(j, now=0.0)


def test_running_jobs_count_as_censored_observations() -> None:
    """30 short jobs finished while 300 others have run far longer: finished jobs alone
    would call every job short; with the running ones counted, a fresh job's index is
    much lower."""
    naive, learned = policies.LearnedGittins(), policies.LearnedGittins()
    for i in range(300):
        _index(learned, 1, 50_000.0, name=f"long-{i}")
    for p in (naive, learned):
        for i in range(30):
            _finished(p, f"short-{i}", 1, 600.0)
    assert _index(learned, 1, 0.0) < _index(naive, 1, 0.0) / 5


def test_finished_jobs_stop_counting_as_running() -> None:
    policy = policies.LearnedGittins()
    _index(policy, 1, 50_000.0, name="long")
    _finished(policy, "long", 1, 60_000.0)
    assert "long" not in policy._alive


def test_class_without_history_uses_all_classes_pooled() -> None:
    policy = policies.LearnedGittins()
    for i in range(30):
        _finished(policy, f"one-{i}", 1, 600.0)
    assert _index(policy, 8, 0.0) == pytest.approx(_index(policy, 1, 0.0))
    empty = policies.LearnedGittins()
    assert _index(empty, 8, 0.0) == pytest.approx(1 / (GRID[0] + GRID[0]))

