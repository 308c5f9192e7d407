"""The Mooncake replay client: block ids become text whose prefixes match the ids' prefixes
(so the mock replica's block hashes line up with the trace's), requests go out concurrently
at their (compressed) times, and each gets a record with TTFT, latency and errors."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import Callable

import httpx
import pytest

from k8s4ai.testing import replay, replica
from k8s4ai.testing.replica import latency, metrics, tokens
from k8s4ai.traces import mooncake

BLOCK = tokens.BLOCK_TOKENS


def request(at: float, length: int, ids: tuple[int, ...], output: int = 4) -> mooncake.Request:
    return mooncake.Request(at, length, output, ids)


FIRST = request(0.0, 2 * BLOCK + 76, (0, 1, 2))
SIBLING = request(0.0, 2 * BLOCK + 76, (0, 1, 3))
FOLLOW_UP = request(0.1, 3 * BLOCK + 10, (0, 1, 2, 4))


def test_a_prompt_has_one_word_per_token() -> None:
    assert len(replay.prompt(FIRST).split()) == FIRST.input_length
    assert len(replay.block_text(7, 5).split()) == 5
    assert replay.block_text(7, 0) == ""
    with pytest.raises(ValueError, match=r"0\.\.512"):
        replay.block_text(7, BLOCK + 1)


def test_equal_block_ids_give_equal_text_and_equal_replica_blocks() -> None:
    first, sibling = tokens.split(replay.prompt(FIRST)), tokens.split(replay.prompt(SIBLING))
    common = next(i for i, (a, b) in enumerate(zip(first, sibling, strict=True)) if a != b)
    assert common == 2 * BLOCK
    follow_up = tokens.block_hashes(tokens.split(replay.prompt(FOLLOW_UP)))
    assert tokens.block_hashes(first) == follow_up[:2]
    assert len(set(tokens.block_hashes(sibling)) & set(follow_up)) == 2
    assert replay.prompt(FOLLOW_UP).startswith(replay.prompt(FIRST))


def test_different_block_ids_differ_from_their_first_word() -> None:
    words = {replay.block_text(b, 1) for b in range(5000)}
    assert len(words) == 5000


def test_bodies_ask_for_the_trace_output_streamed() -> None:
    options = replay.Options("http://x", "m", max_output_tokens=3)
    body = replay.body(request(0, 10, (5,), output=9), options)
    assert body["max_tokens"] == 3 and body["stream"] and body["ignore_eos"]
    assert body["stream_options"] == {"include_usage": True}
    chat = replay.body(FIRST, replay.Options("http://x", "m", chat=True))
    assert chat["messages"][0]["content"] == replay.prompt(FIRST)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("chat", "keep_alive"), [(False, True), (True, False)], ids=["completions", "chat-new-conns"]
)
def test_replay_against_a_replica_records_each_request(
    start_replica: Callable[..., replica.RunningReplica], chat: bool, keep_alive: bool
) -> None:
    running = start_replica(cache_blocks=64)
    options = replay.Options(
        running.url, "mock-8b", compression=2.0, chat=chat, keep_alive=keep_alive
    )
    results = asyncio.run(replay.replay([FIRST, SIBLING, FOLLOW_UP], options))
    with httpx.Client(base_url=running.url) as client:
        scraped = metrics.read(client.get("/metrics").text)
    assert [r.index for r in results] == [0, 1, 2]
    assert all(r.ok and r.status == 200 for r in results)
    for result in results:
        assert result.ttft is not None and result.latency is not None
        assert 0 < result.ttft <= result.latency
        assert result.sent >= result.scheduled - 0.01
        assert result.completion_tokens == result.output_tokens == 4
    assert results[2].scheduled == pytest.approx(0.05)
    assert results[2].cached_tokens == 2 * BLOCK
    assert scraped.cached_tokens == sum(r.cached_tokens or 0 for r in results)
    assert scraped.prompt_tokens == sum(r.prompt_tokens for r in results)


@pytest.mark.integration
def test_requests_due_together_are_in_flight_together(
    start_replica: Callable[..., replica.RunningReplica],
) -> None:
    slow = latency.LatencyModel(decode_seconds_per_token=0.004, decode_seconds_per_running=0)
    running = start_replica(latency=slow)
    burst = [request(0.0, 100, (i,), output=50) for i in range(6)]
    results = asyncio.run(replay.replay(burst, replay.Options(running.url, "mock-8b")))
    assert all(r.ok for r in results)
    assert max(r.sent for r in results) < min(r.latency or math.inf for r in results)


@pytest.mark.integration
def test_errors_are_recorded_not_raised(mock: replica.RunningReplica) -> None:
    wrong_model = asyncio.run(replay.replay([FIRST], replay.Options(mock.url, "other")))[0]
    assert wrong_model.status == 404 and not wrong_model.ok
    assert "does not exist" in (wrong_model.error or "")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    refused = asyncio.run(replay.replay([FIRST], replay.Options(closed, "m", timeout=2)))[0]
    assert refused.status is None and refused.latency is None
    assert (refused.error or "").startswith("ConnectError")


def test_summary_takes_percentiles_of_successes() -> None:
    def result(index: int, ttft: float, status: int = 200) -> replay.Result:
        return replay.Result(index, 0.0, float(index), status, ttft, 2 * ttft, 10, 1, 1, 0, None)

    found = replay.summary([result(0, 1.0), result(1, 3.0), result(2, 9.0, status=500)])
    assert found.requests == 3 and found.errors == 1
    assert found.ttft_p50 == pytest.approx(2.0)
    assert found.latency_p50 == pytest.approx(4.0)
    assert found.requests_per_second == pytest.approx(2 / 7.0)
    assert math.isnan(replay.summary([]).ttft_p50)
