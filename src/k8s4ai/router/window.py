"""A rolling window of what one router measured, so its status can say what the endpoint is
doing now (requests/s, TTFT, prefix hits, tokens/s) rather than totals since it started.

The proxy records each answered request once, into the Prometheus counters and this window
together (`metrics.RouterMetrics.answered`). The window is written on the router's event
loop and read from the thread that publishes status, hence the lock.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DEFAULT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    ttft: float | None
    """Seconds to the first body byte of a streamed answer; None for a non-streamed one,
    whose first byte comes with its last."""
    tokens: int | None
    """Prompt plus completion tokens, when the replica's usage said."""
    prompt_blocks: int
    matched_blocks: int


@dataclass(frozen=True, slots=True)
class Summary:
    seconds: float
    """How long the figures cover: the window, or less while the router is younger."""
    requests: int
    requests_per_second: float
    ttft_p50: float | None
    ttft_p95: float | None
    prefix_hit_rate: float | None
    tokens_per_second: float | None


class Window:
    def __init__(self, clock: Callable[[], float], seconds: float = DEFAULT_SECONDS) -> None:
        if seconds <= 0:
            raise ValueError(f"a window lasts more than 0 seconds, not {seconds}")
        self._clock = clock
        self._seconds = seconds
        self._began = clock()
        self._samples: collections.deque[Sample] = collections.deque()
        self._lock = threading.Lock()

    def record(
        self,
        ttft: float | None,
        tokens: int | None,
        prompt_blocks: int,
        matched_blocks: int,
    ) -> None:
        sample = Sample(self._clock(), ttft, tokens, prompt_blocks, matched_blocks)
        with self._lock:
            self._samples.append(sample)
            self._drop_before(sample.at - self._seconds)

    def _drop_before(self, cutoff: float) -> None:
        while self._samples and self._samples[0].at < cutoff:
            self._samples.popleft()

    def summary(self) -> Summary | None:
        """None until the router has run for a second: a rate over less says little."""
        now = self._clock()
        span = min(self._seconds, now - self._began)
        if span < 1.0:
            return None
        with self._lock:
            self._drop_before(now - self._seconds)
            samples = list(self._samples)
        ttfts = np.array([s.ttft for s in samples if s.ttft is not None], dtype=float)
        counted = [s.tokens for s in samples if s.tokens is not None]
        blocks = sum(s.prompt_blocks for s in samples)
        p50 = p95 = None
        if ttfts.size:
            p50, p95 = (float(v) for v in np.percentile(ttfts, [50, 95]))
        return Summary(
            seconds=span,
            requests=len(samples),
            requests_per_second=len(samples) / span,
            ttft_p50=p50,
            ttft_p95=p95,
            prefix_hit_rate=sum(s.matched_blocks for s in samples) / blocks if blocks else None,
            tokens_per_second=sum(counted) / span if counted else None,
        )
