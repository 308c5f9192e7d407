"""The communication model: a ring all-reduce's bandwidth term, and the step-time ratio a
placement costs a data-parallel job."""

from __future__ import annotations

import pytest

from k8s4ai.backends.sim import communication


@pytest.mark.parametrize(
    ("gpus", "gigabytes", "gbps", "seconds"),
    [
        pytest.param(1, 14.0, 50.0, 0.0, id="one-gpu-reduces-nothing"),
        pytest.param(2, 10.0, 10.0, 1.0, id="two-gpus"),
        pytest.param(16, 14.0, 50.0, 2 * 15 / 16 * 14 / 50, id="sixteen-in-a-rack"),
        pytest.param(4, 8.0, 1.0, 12.0, id="slow-link"),
    ],
)
def test_all_reduce_is_two_n_minus_one_over_n_of_the_bytes_over_the_bandwidth(
    gpus: int, gigabytes: float, gbps: float, seconds: float
) -> None:
    assert communication.all_reduce_seconds(gpus, gigabytes * 1e9, gbps) == pytest.approx(seconds)


def test_the_defaults_are_the_documented_7b_job() -> None:
    job = communication.Training()
    assert job.gradient_bytes == pytest.approx(14e9)
    assert job.compute_seconds == pytest.approx(6 * 7e9 * 16_384 / (989e12 * 0.40))
    assert job.compute_seconds == pytest.approx(1.74, abs=0.01)
    assert job.all_reduce_seconds(16, 50.0) == pytest.approx(0.525)


def test_step_time_is_compute_plus_all_reduce() -> None:
    job = communication.Training(parameters=1e9, tokens_per_gpu=1000.0, peak_tflops=1.0, mfu=1.0)
    assert job.compute_seconds == pytest.approx(6.0)
    assert job.step_seconds(2, 2.0) == pytest.approx(6.0 + 1.0)


def test_stretch_is_one_at_the_ideal_and_grows_as_the_link_slows() -> None:
    job = communication.Training()
    assert job.stretch(16, 50.0, 50.0) == 1.0
    slower = [job.stretch(16, gbps, 50.0) for gbps in (25.0, 6.25, 1.0)]
    assert 1.0 < slower[0] < slower[1] < slower[2]
    assert job.stretch(1, 1.0, 450.0) == 1.0


def test_the_share_of_a_step_spent_communicating_sets_the_cost() -> None:
    small, large = communication.Training(parameters=1e9), communication.Training(parameters=7e10)
    # Compute and gradients both scale with parameters: the ratio stays; only the
    # tokens per step set how much of a step is communication.
    assert large.stretch(16, 6.25, 50.0) == pytest.approx(small.stretch(16, 6.25, 50.0))
    fewer_tokens = communication.Training(tokens_per_gpu=4096.0)
    assert fewer_tokens.stretch(16, 6.25, 50.0) > communication.Training().stretch(16, 6.25, 50.0)


@pytest.mark.parametrize(
    "kwargs",
    [{"parameters": 0}, {"tokens_per_gpu": -1.0}, {"mfu": 0.0}, {"mfu": 1.5}, {"peak_tflops": 0}],
)
def test_nonsense_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must be positive|mfu"):
        communication.Training(**kwargs)


def test_an_all_reduce_needs_gpus_and_bandwidth() -> None:
    with pytest.raises(ValueError, match="at least one GPU"):
        communication.all_reduce_seconds(0, 1.0, 1.0)
    with pytest.raises(ValueError, match="bandwidth must be positive"):
        communication.all_reduce_seconds(2, 1.0, 0.0)
