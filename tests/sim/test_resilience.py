"""Gangs under a CheckpointPolicy while hardware fails: a failure sends a gang back to its
last completed checkpoint (not to zero), a preemption notice is served by a checkpoint within
the grace period, and lost GPU-hours add up. Times in the comments are minutes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from k8s4ai.api import checkpoint
from k8s4ai.backends.sim import failures, resilience
from k8s4ai.scheduler import checkpointing

MIN = 60.0
HOUR = 3600.0


def spec(**fields: Any) -> checkpoint.CheckpointPolicySpec:
    return checkpoint.CheckpointPolicySpec.model_validate(
        {"storage": {"uri": "sim://ckpt"}, **fields}
    )


def fail_at(minutes: float, back_after: float = 0.0, owner: int = 0) -> failures.Failure:
    return failures.Failure(minutes * MIN, "gpu", owner, 0, (minutes + back_after) * MIN)


def one(gang: resilience.Gang, setup: resilience.Setup) -> resilience.GangOutcome:
    result = resilience.simulate([gang], setup, np.random.default_rng(0))
    (outcome,) = result.outcomes
    assert outcome.lost == pytest.approx(outcome.redone + outcome.checkpointing + outcome.restoring)
    return outcome


THREE_HOURS = resilience.Gang("train", 8, 3 * HOUR)


def test_a_failure_restarts_from_the_last_checkpoint_not_zero() -> None:
    # Checkpoint at progress 60 (written 60→62), failure at 92 with progress 90: 30 redone.
    # Restore 2.5 (30 s backoff + reading 2 min), progress from 60 at 94.5, checkpoint at
    # 154.5→156.5, done at 216.5.
    out = one(THREE_HOURS, resilience.Setup(spec(interval="1h"), scripted=(fail_at(92),)))
    assert out.finished and out.failures == 1
    assert out.redone == pytest.approx(30 * MIN)
    assert out.end == pytest.approx(216.5 * MIN)
    assert (out.checkpoints, out.checkpointing, out.restoring) == (2, 4 * MIN, 2.5 * MIN)
    assert out.lost_gpu_hours == pytest.approx(8 * 36.5 / 60)


def test_without_resume_the_same_failure_restarts_from_zero() -> None:
    out = one(THREE_HOURS, resilience.Setup(spec(resume="none"), scripted=(fail_at(92),)))
    assert out.redone == pytest.approx(92 * MIN)
    assert out.checkpoints == 0 and out.restoring == pytest.approx(30.0)
    assert out.end == pytest.approx((92 + 0.5 + 180) * MIN)


def test_a_checkpoint_cut_short_by_a_failure_does_not_count() -> None:
    # Writing from 60 fails at 61: back to zero, the minute written is lost too.
    out = one(THREE_HOURS, resilience.Setup(spec(interval="1h"), scripted=(fail_at(61),)))
    assert out.redone == pytest.approx(60 * MIN)
    assert out.checkpoints == 2 and out.checkpointing == pytest.approx(5 * MIN)
    assert out.end == pytest.approx((61 + 2.5 + 60 + 2 + 60 + 2 + 60) * MIN)


def test_a_gang_waits_for_repair_without_holding_its_gpus() -> None:
    # Failure at 30, the GPU is back at 90: restore till 92.5, checkpoint 152.5→154.5,
    # done at 214.5; held 30 + 124.5.
    gang = resilience.Gang("train", 8, 2 * HOUR)
    out = one(gang, resilience.Setup(spec(interval="1h"), scripted=(fail_at(30, 60),)))
    assert out.end == pytest.approx(214.5 * MIN)
    assert out.held == pytest.approx(154.5 * MIN)
    assert out.redone == pytest.approx(30 * MIN)


def test_failures_after_the_gang_finished_are_ignored() -> None:
    out = one(THREE_HOURS, resilience.Setup(spec(interval="1h"), scripted=(fail_at(500),)))
    assert out.failures == 0 and out.end == pytest.approx((180 + 4) * MIN)


@pytest.mark.parametrize(
    ("fields", "at", "redone", "checkpoints", "held"),
    [
        # Progress 98 at the notice (60 + 38, checkpoint 60→62): saves 100→102 and leaves;
        # back at 112, restores till 114.5, checkpoints at progress 158 (174.5→176.5),
        # done at 198.5.
        pytest.param({}, 100, 0, 3, 102 + 198.5 - 112, id="saves-within-grace"),
        # A 10-minute checkpoint does not fit a 5-minute grace: progress 90, saved 60, back
        # at 110, restores 10.5, checkpoints at progress 120 (180.5→190.5), done at 250.5.
        pytest.param(
            {"checkpointDuration": "10m"}, 100, 30, 2, 100 + 250.5 - 110, id="too-slow-to-save"
        ),
        # Progress 98, saved 60: back at 110, checkpoint 172.5→174.5, done at 234.5.
        pytest.param(
            {"beforePreemption": False}, 100, 38, 2, 100 + 234.5 - 110, id="told-not-to-save"
        ),
        # Writing a 6-minute checkpoint from 60 with 1 minute left: finishes it at 66 and
        # leaves; back at 76, restores 6.5, checkpoint 142.5→148.5, done at 208.5.
        pytest.param(
            {"checkpointDuration": "6m"}, 65, 0, 2, 66 + 208.5 - 76, id="finishes-the-one-written"
        ),
    ],
)
def test_preemption_notice(
    fields: dict[str, Any], at: float, redone: float, checkpoints: int, held: float
) -> None:
    setup = resilience.Setup(
        spec(interval="1h", **fields),
        preemptions=(resilience.Preemption(0, at * MIN, back_after=10 * MIN),),
    )
    out = one(THREE_HOURS, setup)
    assert out.finished and out.preemptions == 1 and out.failures == 0
    assert out.redone == pytest.approx(redone * MIN)
    assert out.checkpoints == checkpoints
    assert out.held == pytest.approx(held * MIN)


def test_a_gang_that_cannot_finish_is_given_up_at_its_deadline() -> None:
    gang = resilience.Gang("doomed", 8, 3 * HOUR, deadline=5 * HOUR)
    storm = tuple(fail_at(m) for m in range(50, 300, 50))
    out = one(gang, resilience.Setup(spec(resume="none"), scripted=storm))
    assert not out.finished and out.end == 5 * HOUR
    assert out.progress < gang.work and out.failures == 5
    assert out.held == pytest.approx(5 * HOUR)


@pytest.mark.parametrize("interval", ["10m", "1h", "auto"])
def test_lost_gpu_hours_add_up_under_random_failures(interval: str) -> None:
    hardware = failures.meta_llama3().scaled(50.0)
    gangs = [
        resilience.Gang(f"g{i}", 64 * (i + 1), 20 * HOUR, i * HOUR, deadline=1000 * HOUR)
        for i in range(6)
    ]
    setup = resilience.Setup(spec(interval=interval), hardware)
    result = resilience.simulate(gangs, setup, np.random.default_rng(3))
    assert sum(o.failures for o in result.outcomes) > 20
    for o, g in zip(result.outcomes, gangs, strict=True):
        assert o.finished and o.progress == g.work
        assert o.end >= g.start + g.work + o.checkpointing + o.restoring + o.redone - 1e-6
        assert o.lost == pytest.approx(o.redone + o.checkpointing + o.restoring)
    again = resilience.simulate(gangs, setup, np.random.default_rng(3))
    assert again == result


def test_auto_learns_the_rate_it_is_never_told() -> None:
    true = failures.meta_llama3().scaled(20.0)
    gangs = [resilience.Gang(f"g{i}", 1024, 100 * HOUR, deadline=5000 * HOUR) for i in range(8)]
    calls: list[checkpointing.FailureRate] = []
    auto = spec(interval="auto")

    def rule(gpus: int, seen: checkpointing.FailureRate) -> float | None:
        calls.append(seen)
        return checkpointing.interval(auto, gpus, seen)

    setup = resilience.Setup(auto, true, rule=rule)
    result = resilience.simulate(gangs, setup, np.random.default_rng(4))
    prior = checkpointing.meta_prior()
    assert calls[0] == prior
    seen_failures = sum(o.failures for o in result.outcomes)
    assert result.seen.failures == prior.failures + seen_failures > 200
    assert result.seen.job_mtbf(1024) == pytest.approx(true.job_mtbf(1024), rel=0.15)
    first, last = result.estimates[0][1], result.estimates[-1][1]
    assert last < first < prior.gpu_mtbf
    plain = resilience.simulate(gangs, resilience.Setup(auto, true), np.random.default_rng(4))
    assert plain.lost_gpu_hours == pytest.approx(result.lost_gpu_hours)


def test_auto_beats_a_far_off_fixed_interval_on_the_same_failures() -> None:
    hardware = failures.meta_llama3().scaled(10.0)
    gangs = [
        resilience.Gang(f"g{i}", 2048, 48 * HOUR, i * 2 * HOUR, deadline=5000 * HOUR)
        for i in range(6)
    ]
    lost = {
        interval: resilience.simulate(
            gangs, resilience.Setup(spec(interval=interval), hardware), np.random.default_rng(9)
        ).lost_gpu_hours
        for interval in ("5m", "8h", "auto")
    }
    assert lost["auto"] < min(lost["5m"], lost["8h"])


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least one GPU"):
        resilience.simulate(
            [resilience.Gang("x", 0, 1.0)], resilience.Setup(spec()), np.random.default_rng(0)
        )
    zero = resilience.Setup(spec(), rule=lambda gpus, seen: 0.0)
    with pytest.raises(ValueError, match="must be positive"):
        resilience.simulate([THREE_HOURS], zero, np.random.default_rng(0))
