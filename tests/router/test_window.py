"""The router's rolling window: rates over the time it covers, percentiles of streamed TTFTs,
the router's belief of prefix hits, and "not measured" (None) where nothing was seen."""

from __future__ import annotations

import json

import pytest

from k8s4ai.router import publish, usage, window


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_measured_before_the_first_second() -> None:
    clock = FakeClock()
    win = window.Window(clock, seconds=60)
    win.record(0.1, 10, 4, 2)
    clock.now += 0.5
    assert win.summary() is None


def test_an_idle_router_measures_zero_load_and_no_latency() -> None:
    clock = FakeClock()
    win = window.Window(clock, seconds=60)
    clock.now += 10
    assert win.summary() == window.Summary(10.0, 0, 0.0, None, None, None, None)


def test_rates_cover_the_router_age_then_the_window() -> None:
    clock = FakeClock()
    win = window.Window(clock, seconds=10)
    for i in range(20):  # 20 requests over the first 5 s
        clock.now += 0.25
        win.record(ttft=0.01 * (i + 1), tokens=100, prompt_blocks=4, matched_blocks=i % 2 * 4)
    young = win.summary()
    assert young is not None
    assert young.seconds == pytest.approx(5.0)
    assert young.requests_per_second == pytest.approx(4.0)
    assert young.tokens_per_second == pytest.approx(400.0)
    assert young.prefix_hit_rate == pytest.approx(0.5)
    assert young.ttft_p50 == pytest.approx(0.105)
    assert young.ttft_p95 == pytest.approx(0.1905)
    clock.now += 8.0  # the 11 requests before now - 10 s = 103 s leave the window
    old = win.summary()
    assert old is not None
    assert (old.seconds, old.requests) == (10.0, 9)
    assert old.requests_per_second == pytest.approx(0.9)
    assert old.ttft_p50 == pytest.approx(0.16)


def test_non_streamed_answers_count_as_load_but_give_no_ttft() -> None:
    clock = FakeClock()
    win = window.Window(clock, seconds=60)
    clock.now += 2
    win.record(ttft=None, tokens=None, prompt_blocks=0, matched_blocks=0)
    summary = win.summary()
    assert summary is not None
    assert summary.requests == 1
    assert (summary.ttft_p50, summary.tokens_per_second, summary.prefix_hit_rate) == (
        None,
        None,
        None,
    )


def test_a_window_must_last() -> None:
    with pytest.raises(ValueError, match="more than 0 seconds"):
        window.Window(FakeClock(), seconds=0)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            json.dumps({"usage": {"prompt_tokens": 7, "completion_tokens": 3}}).encode(),
            10,
            id="whole-answer",
        ),
        pytest.param(
            b'data: {"choices":[]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":5,'
            b'"completion_tokens":2,"total_tokens":7}}\n\ndata: [DONE]\n\n',
            7,
            id="stream-tail",
        ),
        pytest.param(b'data: {"choices":[]}\n\ndata: [DONE]\n\n', None, id="no-usage"),
        pytest.param(b'{"usage": null}', None, id="null-usage"),
        pytest.param(b'ge":{"prompt_tokens":5}}', None, id="cut-off"),
    ],
)
def test_usage_tokens(data: bytes, expected: int | None) -> None:
    assert usage.tokens(data) == expected


def test_status_is_in_milliseconds_and_empty_where_not_measured() -> None:
    summary = window.Summary(60.0, 120, 2.0, 0.0123, 0.0456, None, None)
    assert publish.router_status(summary) == {
        "requestsPerSecond": 2.0,
        "ttftP50Ms": 12.3,
        "ttftP95Ms": 45.6,
        "prefixHitRate": None,
        "tokensPerSecond": None,
        "observedWindowSeconds": 60.0,
    }
    assert publish.service_status(summary) == {"requestsPerSecond": 2.0, "latencyP95": 45.6}
