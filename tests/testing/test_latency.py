"""The latency model: prefill time grows with uncached tokens and with the prefills queued
ahead; decode steps slow as the batch grows; `speed` compresses time."""

from __future__ import annotations

import math

import pytest

from k8s4ai.testing.replica import latency


def test_prefill_takes_uncached_tokens_over_the_prefill_rate() -> None:
    model = latency.LatencyModel(prefill_tokens_per_second=1000.0)
    assert model.prefill_seconds(500) == pytest.approx(0.5)
    assert model.prefill_seconds(0) == 0.0


def test_speed_divides_every_duration() -> None:
    slow = latency.LatencyModel()
    fast = latency.LatencyModel(speed=10.0)
    assert fast.prefill_seconds(3000) == pytest.approx(slow.prefill_seconds(3000) / 10)
    assert fast.token_seconds(8) == pytest.approx(slow.token_seconds(8) / 10)
    instant = latency.LatencyModel.instant()
    assert instant.prefill_seconds(10**6) == 0.0 and instant.token_seconds(256) == 0.0


def test_decode_steps_slow_as_the_batch_grows() -> None:
    model = latency.LatencyModel(decode_seconds_per_token=0.005, decode_seconds_per_running=0.001)
    assert model.token_seconds(1) == pytest.approx(0.006)
    assert model.token_seconds(100) == pytest.approx(0.105)


def test_prefills_queue_one_after_another() -> None:
    queue = latency.PrefillQueue(latency.LatencyModel(prefill_tokens_per_second=1000.0))
    assert queue.reserve(0.0, 1000) == pytest.approx(1.0)
    assert queue.reserve(0.0, 1000) == pytest.approx(2.0)
    assert queue.backlog(0.5) == pytest.approx(1.5)
    assert queue.reserve(5.0, 100) == pytest.approx(5.1)
    assert queue.backlog(6.0) == 0.0


@pytest.mark.parametrize(
    "fields",
    [
        {"prefill_tokens_per_second": 0.0},
        {"decode_seconds_per_token": -1.0},
        {"max_running": 0},
        {"speed": 0.0},
        {"speed": -math.inf},
    ],
    ids=lambda f: next(iter(f)),
)
def test_nonsense_parameters_are_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        latency.LatencyModel(**fields)  # type: ignore[arg-type]
