"""The replica's scheduler on real asyncio time: bounded slots taken in arrival order, TTFT
growing with the prefill queue, and true cache hits (a prompt still in prefill is not yet
cached). Times are checked from below (sleeps never end early) with generous slack above."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from k8s4ai.testing.replica import engine, latency, prefix_cache, tokens

BLOCK = tokens.BLOCK_TOKENS


def make(max_running: int = 4, prefill: float = 100_000.0, blocks: int = 100) -> engine.Engine:
    model = latency.LatencyModel(
        prefill_tokens_per_second=prefill,
        decode_seconds_per_token=0.001,
        decode_seconds_per_running=0.0,
        max_running=max_running,
    )
    return engine.Engine(model, prefix_cache.PrefixCache(blocks))


def prompt(name: str, blocks: int) -> tuple[int, list[bytes]]:
    words = [f"{name}{i}".encode() for i in range(blocks * BLOCK + 1)]
    return len(words), tokens.block_hashes(words)


async def serve(
    replica: engine.Engine, name: str, blocks: int, output: int = 1, hold: float = 0.0
) -> tuple[float, int]:
    """Run one request; returns (seconds to its first token, cached tokens)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    count, hashes = prompt(name, blocks)
    async with replica.sequence(count, hashes) as sequence:
        await sequence.prefill()
        first = loop.time() - start
        async for _ in sequence.decode(output, 0.01):
            pass
        await asyncio.sleep(hold)
    return first, sequence.cached_tokens


def run(main: Callable[[], Awaitable[object]]) -> object:
    return asyncio.run(main())  # type: ignore[arg-type]


def test_ttft_grows_with_the_prefills_queued_ahead() -> None:
    async def main() -> list[tuple[float, int]]:
        replica = make(prefill=10 * BLOCK / 0.05)  # 10 blocks take 50 ms
        return await asyncio.gather(*(serve(replica, f"p{i}", 10) for i in range(3)))

    firsts = sorted(first for first, _ in run(main))  # type: ignore[union-attr]
    for position, first in enumerate(firsts, start=1):
        assert first >= 0.05 * position - 0.002
    assert firsts[-1] < 1.0


def test_slots_are_bounded_and_taken_in_arrival_order() -> None:
    async def main() -> tuple[list[str], int]:
        replica = make(max_running=1)
        order: list[str] = []

        async def one(name: str) -> None:
            await serve(replica, name, 1, hold=0.02)
            order.append(name)

        tasks = [asyncio.create_task(one(name)) for name in ("a", "b", "c")]
        await asyncio.sleep(0.005)
        waiting = replica.waiting
        await asyncio.gather(*tasks)
        return order, waiting

    order, waiting = run(main)  # type: ignore[misc]
    assert order == ["a", "b", "c"]
    assert waiting == 2


def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    async def main() -> tuple[int, int]:
        replica = make(max_running=1)
        holder = asyncio.create_task(serve(replica, "a", 1, hold=0.05))
        await asyncio.sleep(0.005)
        quitter = asyncio.create_task(serve(replica, "b", 1))
        await asyncio.sleep(0.005)
        quitter.cancel()
        await serve(replica, "c", 1)
        await holder
        return replica.running, replica.waiting

    assert run(main) == (0, 0)


def test_hits_are_the_cached_prefix_of_a_later_request() -> None:
    async def main() -> tuple[int, int, int]:
        replica = make()
        _, cold = await serve(replica, "doc", 3)
        _, warm = await serve(replica, "doc", 3)
        _, other = await serve(replica, "other", 3)
        return cold, warm, other

    assert run(main) == (0, 3 * BLOCK, 0)


def test_a_prompt_still_in_prefill_is_not_a_hit() -> None:
    async def main() -> list[tuple[float, int]]:
        replica = make(prefill=3 * BLOCK / 0.05)
        return await asyncio.gather(serve(replica, "doc", 3), serve(replica, "doc", 3))

    assert [cached for _, cached in run(main)] == [0, 0]  # type: ignore[union-attr]


def test_stats_count_true_hits_and_tokens() -> None:
    async def main() -> engine.Stats:
        replica = make()
        await serve(replica, "doc", 2, output=5)
        await serve(replica, "doc", 2, output=5)
        return replica.stats

    stats = run(main)
    assert stats == engine.Stats(
        requests=2,
        finished=2,
        prompt_tokens=2 * (2 * BLOCK + 1),
        cached_tokens=2 * BLOCK,
        generation_tokens=10,
    )


@pytest.mark.parametrize(("interval", "chunks"), [(float("inf"), [1, 9]), (0.0025, [1, 3, 3, 3])])
def test_decode_sends_the_first_token_then_chunks_per_interval(
    interval: float, chunks: list[int]
) -> None:
    async def main() -> list[int]:
        replica = make()
        count, hashes = prompt("x", 1)
        async with replica.sequence(count, hashes) as sequence:
            await sequence.prefill()
            return [n async for n in sequence.decode(10, interval)]

    assert run(main) == chunks
