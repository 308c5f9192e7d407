"""CheckpointPolicy decisions: Young–Daly intervals on a learnt failure rate, saving on a
preemption notice within the grace period, retention."""

from __future__ import annotations

import math
from typing import Any

import pytest

from k8s4ai.api import checkpoint
from k8s4ai.scheduler import checkpointing

HOUR = 3600.0


def spec(**fields: Any) -> checkpoint.CheckpointPolicySpec:
    return checkpoint.CheckpointPolicySpec.model_validate(
        {"storage": {"uri": "s3://bucket/ckpt"}, **fields}
    )


def test_meta_prior_is_the_published_rate() -> None:
    prior = checkpointing.meta_prior()
    whole_job = prior.job_mtbf(16_384) / HOUR
    assert whole_job == pytest.approx(54 * 24 / 419)
    assert prior.gpu_mtbf / HOUR == pytest.approx(16_384 * 54 * 24 / 419)
    assert prior.failures == checkpointing.PRIOR_WEIGHT == 1.0


def test_a_job_on_n_gpus_fails_n_times_as_often() -> None:
    rate = checkpointing.FailureRate(2.0, 8_000.0)
    assert rate.job_mtbf(1) == pytest.approx(4_000 * HOUR)
    assert rate.job_mtbf(8) == pytest.approx(500 * HOUR)
    with pytest.raises(ValueError, match="at least one GPU"):
        rate.job_mtbf(0)


def test_observing_failures_moves_the_estimate_from_the_prior_to_the_data() -> None:
    prior = checkpointing.meta_prior()
    true_rate = 10 * prior.per_gpu_hour
    seen = prior.observe(failures=1000, gpu_hours=1000 / true_rate)
    assert seen.per_gpu_hour == pytest.approx(true_rate, rel=0.01)
    nothing = prior.observe(0, 0.0)
    assert nothing == prior
    quiet = prior.observe(0, 10 * prior.gpu_hours)
    assert quiet.gpu_mtbf == pytest.approx(11 * prior.gpu_mtbf)
    with pytest.raises(ValueError, match="negative"):
        prior.observe(-1, 0.0)


@pytest.mark.parametrize(
    ("cost", "mtbf", "expected"),
    [
        pytest.param(120.0, 3 * HOUR, math.sqrt(2 * 120 * 3 * HOUR), id="2min-3h"),
        pytest.param(600.0, 12 * HOUR, 7200.0, id="10min-12h-is-2h"),
        pytest.param(0.0, HOUR, 0.0, id="free-checkpoints"),
    ],
)
def test_young_daly(cost: float, mtbf: float, expected: float) -> None:
    assert checkpointing.young_daly(cost, mtbf) == pytest.approx(expected)


def test_young_daly_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        checkpointing.young_daly(60.0, 0.0)


def test_fixed_interval_ignores_the_failure_rate() -> None:
    fixed = spec(interval="45m")
    calm = checkpointing.FailureRate(1.0, 1e9)
    stormy = checkpointing.FailureRate(1e6, 1.0)
    assert checkpointing.interval(fixed, 8, calm) == 2700.0
    assert checkpointing.interval(fixed, 4096, stormy) == 2700.0


def test_auto_interval_follows_the_estimate_and_the_job_size() -> None:
    auto = spec(interval="auto", checkpointDuration="2m")
    seen = checkpointing.FailureRate(4.0, 4.0 * 1000.0)
    small = checkpointing.interval(auto, 100, seen)
    big = checkpointing.interval(auto, 400, seen)
    assert small is not None and big is not None
    assert small == pytest.approx(math.sqrt(2 * 120 * 10 * HOUR))
    assert big == pytest.approx(small / 2)
    worse = checkpointing.interval(auto, 100, seen.observe(4, 0.0))
    assert worse == pytest.approx(small / math.sqrt(2))


def test_resume_none_never_checkpoints() -> None:
    prior = checkpointing.meta_prior()
    assert checkpointing.interval(spec(interval="1h", resume="none"), 8, prior) is None
    assert checkpointing.interval(spec(interval="auto", resume="none"), 8, prior) is None


def test_restore_is_backoff_plus_reading_the_checkpoint() -> None:
    assert checkpointing.restore_seconds(spec(checkpointDuration="3m")) == 30 + 180
    assert checkpointing.restore_seconds(spec(resume="none", restartBackoff="1m")) == 60


@pytest.mark.parametrize(
    ("fields", "writing_left", "saves"),
    [
        pytest.param({}, None, True, id="2m-checkpoint-in-5m-grace"),
        pytest.param({"checkpointDuration": "5m"}, None, True, id="exactly-the-grace"),
        pytest.param({"checkpointDuration": "6m"}, None, False, id="longer-than-grace"),
        pytest.param({"checkpointDuration": "6m"}, 120.0, True, id="finishing-one-in-time"),
        pytest.param({}, 400.0, False, id="one-being-written-too-slow"),
        pytest.param({"beforePreemption": False}, None, False, id="told-not-to"),
        pytest.param({"resume": "none"}, None, False, id="never-resumes"),
        pytest.param({"preemptionGracePeriod": "0s"}, None, False, id="no-grace"),
    ],
)
def test_saves_on_notice(fields: dict[str, Any], writing_left: float | None, saves: bool) -> None:
    assert checkpointing.saves_on_notice(spec(**fields), writing_left) is saves


def test_retention_keeps_the_newest() -> None:
    assert checkpointing.retained((1.0, 2.0, 3.0, 4.0), 3) == (2.0, 3.0, 4.0)
    assert checkpointing.retained((1.0,), 3) == (1.0,)
    assert checkpointing.retained((), 1) == ()
    with pytest.raises(ValueError, match="at least one"):
        checkpointing.retained((1.0,), 0)


def test_storage_counts_the_one_being_written() -> None:
    assert checkpointing.storage_needed(spec(retention=3), 2**40) == 4 * 2**40
