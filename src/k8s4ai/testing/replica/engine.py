"""The replica's scheduler: sequence slots, the prefix cache and the latency model, run on
asyncio time. Each request holds a slot from admission to its last token; requests beyond
`max_running` wait in arrival order. The cache is looked up at admission (the hits are the
replica's *true* hits, counted in `Stats`) and filled when the prefill ends, so a request
arriving while an identical one is still in prefill does not hit."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from k8s4ai.testing.replica import latency, prefix_cache, tokens


@dataclass
class Stats:
    """Counters since start (never reset: Prometheus counters only grow)."""

    requests: int = 0
    """Requests admitted to a slot."""
    finished: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens found in the prefix cache at admission."""
    generation_tokens: int = 0


class Engine:
    def __init__(
        self,
        model: latency.LatencyModel,
        cache: prefix_cache.PrefixCache,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.model = model
        self.cache = cache
        self.stats = Stats()
        self.running = 0
        self._prefills = latency.PrefillQueue(model)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._clock = clock

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    @contextlib.asynccontextmanager
    async def sequence(
        self, prompt_tokens: int, hashes: Sequence[bytes]
    ) -> AsyncIterator[RunningSequence]:
        """Wait for a slot, look the prompt up in the cache, and hold the slot while the
        caller prefills and decodes."""
        await self._acquire()
        try:
            # The last prompt token is always computed (it yields the first output token),
            # so a fully cached prompt still misses the block that holds it, as in vLLM.
            lookup = hashes[: max(0, prompt_tokens - 1) // tokens.BLOCK_TOKENS]
            cached = self.cache.match(lookup) * tokens.BLOCK_TOKENS
            self.stats.requests += 1
            self.stats.prompt_tokens += prompt_tokens
            self.stats.cached_tokens += cached
            yield RunningSequence(self, prompt_tokens, hashes, cached)
        finally:
            self.stats.finished += 1
            self._release()

    def reserve_prefill(self, now: float, uncached_tokens: int) -> float:
        """When a prefill of `uncached_tokens` asked for at `now` will end."""
        return self._prefills.reserve(now, uncached_tokens)

    async def _acquire(self) -> None:
        if self.running < self.model.max_running and not self.waiting:
            self.running += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over just before the cancel
            raise

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # hand the slot over: `running` stays the same
                return
        self.running -= 1


class RunningSequence:
    def __init__(
        self, engine: Engine, prompt_tokens: int, hashes: Sequence[bytes], cached_tokens: int
    ) -> None:
        self.engine = engine
        self.prompt_tokens = prompt_tokens
        self.cached_tokens = cached_tokens
        self._hashes = hashes

    async def prefill(self) -> None:
        """Return when the first output token exists; the prompt's blocks are then cached."""
        engine = self.engine
        now = engine.now()
        done = engine.reserve_prefill(now, self.prompt_tokens - self.cached_tokens)
        if done > now:
            await asyncio.sleep(done - now)
        engine.cache.store(self._hashes)

    async def decode(self, count: int, interval: float) -> AsyncIterator[int]:
        """Yield how many tokens each chunk carries: the first at once (prefill made it),
        then at least one token per `interval` seconds until `count` are out."""
        if count < 1:
            return
        self.engine.stats.generation_tokens += 1
        yield 1
        left = count - 1
        while left > 0:
            step = self.engine.model.token_seconds(self.engine.running)
            if step <= 0 or math.isinf(interval):
                batch = left
            else:
                batch = min(left, max(1, math.ceil(interval / step)))
            if step > 0:
                await asyncio.sleep(batch * step)
            left -= batch
            self.engine.stats.generation_tokens += batch
            yield batch
