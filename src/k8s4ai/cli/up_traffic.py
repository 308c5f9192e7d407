"""A light client load on `k8s4ai up`'s routers, so a newcomer sees an endpoint serving:
requests shaped like the Mooncake conversation trace (the built-in generator's fitted
profile: about 3 requests/s, multi-turn sessions whose prompts grow turn after turn and share
a system prompt), sent through each ContentRouter on 127.0.0.1 with the replay client
(`k8s4ai.testing.replay`), at real speed.

Prompts are cut to fit the service's maxModelLen and answers to `MAX_OUTPUT_TOKENS`: the
replicas are mocks on a shared CPU, and streaming a trace's full answers (350 tokens at the
median) through them would cost more CPU than it shows. Only loopback URLs are ever sent to:
this is a demo load, not a load generator to point elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import numpy as np

from k8s4ai.cli import server
from k8s4ai.testing import replay
from k8s4ai.traces import mooncake

log = logging.getLogger(__name__)

PROFILE = "conversation"
MAX_OUTPUT_TOKENS = 32
CHUNK = 200
"""Requests generated at a time (about a minute of the profile)."""
CHECK_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    model: str
    max_model_len: int


def fitted(request: mooncake.Request, max_model_len: int) -> mooncake.Request:
    """The request cut to fit the model's context with its (capped) answer."""
    output = max(1, min(request.output_length, MAX_OUTPUT_TOKENS))
    room = max(1, max_model_len - output)
    if request.input_length <= room:
        return replace(request, output_length=output)
    blocks = -(-room // mooncake.BLOCK_TOKENS)
    return replace(
        request, input_length=room, output_length=output, hash_ids=request.hash_ids[:blocks]
    )


def is_loopback(url: str) -> bool:
    return server.is_loopback(urlsplit(url).hostname)


async def drive(target: Target, rng: np.random.Generator) -> None:
    """Until cancelled: chunk after chunk of the profile's requests, at their arrival times."""
    options = replay.Options(url=target.url, model=target.model, timeout=60.0)
    while True:
        chunk = mooncake.generate(mooncake.PROFILES[PROFILE], CHUNK, rng)
        results = await replay.replay([fitted(r, target.max_model_len) for r in chunk], options)
        failed = [r.error for r in results if r.error is not None]
        if failed:
            log.info("demo traffic to %s: %d of %d failed (%s)", target.url, len(failed),
                     len(results), failed[0])  # fmt: skip
            await asyncio.sleep(CHECK_SECONDS)


class Traffic:
    """One load per router, on an event loop in a daemon thread; `targets` is asked every
    few seconds which routers exist, so a router started, moved or removed is followed."""

    def __init__(self, targets: Callable[[], Mapping[str, Target]], seed: int = 0) -> None:
        self._targets = targets
        self._seed = seed
        self._loop = asyncio.new_event_loop()
        self._stopping = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="k8s4ai-traffic", daemon=True)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._supervise())
        self._loop.close()

    async def _supervise(self) -> None:
        running: dict[str, tuple[Target, asyncio.Task[None]]] = {}
        seeds = np.random.SeedSequence(self._seed)
        try:
            while not self._stopping.is_set():
                wanted = {k: t for k, t in self._targets().items() if is_loopback(t.url)}
                for key, (target, task) in list(running.items()):
                    if wanted.get(key) != target or task.done():
                        if task.done() and not task.cancelled() and task.exception():
                            log.warning("demo traffic to %s stopped: %s", key, task.exception())
                        task.cancel()
                        del running[key]
                for key, target in wanted.items():
                    if key not in running:
                        rng = np.random.default_rng(seeds.spawn(1)[0])
                        running[key] = (target, asyncio.create_task(drive(target, rng)))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), CHECK_SECONDS)
        finally:
            for _, task in running.values():
                task.cancel()
            await asyncio.gather(*(t for _, t in running.values()), return_exceptions=True)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout)
