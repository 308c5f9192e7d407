"""Replaying a Mooncake trace against any OpenAI-compatible endpoint (a replica, our router,
another router), with the trace's timing, measuring what a client sees.

Prompts are made from the trace's block ids: block id *b* is `BLOCK_TOKENS` words, each
``<b in hex><position in base 32, 2 chars>``, so equal id prefixes give equal text prefixes
(and different ids differ from their first word). A request of *n* tokens is the words of
its blocks, the last block cut to what remains: exactly *n* words, which is *n* tokens to
the mock replica (`k8s4ai.testing.replica.tokens`), whose block hashes then match the
trace's ids block for block. Every router sees the same text for the same request.

Requests go out concurrently at ``arrival / compression`` seconds after the start, streamed
(`stream_options.include_usage`, `ignore_eos` so a real vLLM generates `output_length`
tokens too). TTFT is the time to the first byte of the response body; latency the time to
its last byte. Nothing is retried: an error is recorded against its request.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from k8s4ai.traces import mooncake

BLOCK_TOKENS = mooncake.BLOCK_TOKENS
_DIGITS = "0123456789abcdefghijklmnopqrstuv"
_POSITIONS = tuple(_DIGITS[i // 32] + _DIGITS[i % 32] for i in range(BLOCK_TOKENS))


def block_text(block_id: int, tokens: int = BLOCK_TOKENS) -> str:
    """The first `tokens` words of block `block_id`."""
    if not 0 <= tokens <= BLOCK_TOKENS:
        raise ValueError(f"a block has 0..{BLOCK_TOKENS} tokens, not {tokens}")
    if tokens == 0:
        return ""
    tag = f"{block_id:x}"
    return tag + f" {tag}".join(_POSITIONS[:tokens])


def prompt(request: mooncake.Request) -> str:
    """The request's prompt: `input_length` words built from its `hash_ids`."""
    words = []
    left = request.input_length
    for block in request.hash_ids:
        if left <= 0:
            break
        words.append(block_text(block, min(left, BLOCK_TOKENS)))
        left -= BLOCK_TOKENS
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Result:
    """One replayed request. Times are seconds; `scheduled` and `sent` count from the start
    of the replay (compressed time), `ttft` and `latency` from `sent`."""

    index: int
    scheduled: float
    sent: float
    status: int | None
    """HTTP status, or None when no response came (connection refused, timeout...)."""
    ttft: float | None
    latency: float | None
    prompt_tokens: int
    output_tokens: int
    """Tokens asked for."""
    completion_tokens: int | None
    cached_tokens: int | None
    """From the response's usage, when it says."""
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass(frozen=True, slots=True)
class Options:
    url: str
    """Base URL: requests go to ``{url}/v1/completions`` (or chat)."""
    model: str
    compression: float = 1.0
    """Divides the trace's arrival times."""
    chat: bool = False
    timeout: float = 600.0
    max_output_tokens: int | None = None
    """Caps each request's output (quick runs); None sends the trace's."""
    keep_alive: bool = True
    """Reuse connections; False opens one per request (some routers answer a kept-alive
    connection ~40 ms later: Nagle's algorithm on their side meeting delayed ACKs here)."""


def body(request: mooncake.Request, options: Options) -> dict[str, Any]:
    output = max(1, request.output_length)
    if options.max_output_tokens is not None:
        output = min(output, options.max_output_tokens)
    text = prompt(request)
    payload: dict[str, Any] = {
        "model": options.model,
        "max_tokens": output,
        "stream": True,
        "stream_options": {"include_usage": True},
        "ignore_eos": True,
    }
    if options.chat:
        return payload | {"messages": [{"role": "user", "content": text}]}
    return payload | {"prompt": text}


async def replay(
    requests: Sequence[mooncake.Request],
    options: Options,
    clock: Callable[[], float] = time.perf_counter,
) -> list[Result]:
    """Send every request at its (compressed) arrival time, concurrently; return one
    `Result` per request, in trace order."""
    if not options.compression > 0:
        raise ValueError(f"compression must be positive, not {options.compression}")
    path = "/v1/chat/completions" if options.chat else "/v1/completions"
    kept = 256 if options.keep_alive else 0
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=kept)
    timeout = httpx.Timeout(options.timeout, connect=min(options.timeout, 10.0))
    async with httpx.AsyncClient(
        base_url=options.url, limits=limits, timeout=timeout, trust_env=False
    ) as client:
        send = functools.partial(_one, client, path, options, clock)
        start = clock()
        tasks = []
        for index, request in enumerate(requests):
            scheduled = request.arrival_seconds / options.compression
            delay = start + scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(index, request, scheduled, start)))
        return list(await asyncio.gather(*tasks))


async def _one(
    client: httpx.AsyncClient,
    path: str,
    options: Options,
    clock: Callable[[], float],
    index: int,
    request: mooncake.Request,
    scheduled: float,
    start: float,
) -> Result:
    payload = body(request, options)
    sent = clock()
    first: float | None = None
    chunks: list[bytes] = []
    status: int | None = None
    error: str | None = None
    try:
        async with client.stream("POST", path, json=payload) as response:
            status = response.status_code
            async for chunk in response.aiter_raw():
                if first is None:
                    first = clock()
                chunks.append(chunk)
    except httpx.HTTPError as err:
        error = f"{type(err).__name__}: {err}"
    done = clock()
    raw = b"".join(chunks)
    if status is not None and status != 200 and error is None:
        error = raw[:300].decode(errors="replace")
    usage = _usage(raw) if status == 200 else {}
    details = usage.get("prompt_tokens_details") or {}
    return Result(
        index=index,
        scheduled=scheduled,
        sent=sent - start,
        status=status,
        ttft=None if first is None else first - sent,
        latency=done - sent if status is not None and error is None else None,
        prompt_tokens=request.input_length,
        output_tokens=payload["max_tokens"],
        completion_tokens=usage.get("completion_tokens"),
        cached_tokens=details.get("cached_tokens"),
        error=error,
    )


def _usage(raw: bytes) -> dict[str, Any]:
    """The `usage` of the last SSE event that has one."""
    for line in reversed(raw.split(b"\n")):
        if line.startswith(b"data: {") and b'"usage"' in line:
            try:
                found = json.loads(line[6:]).get("usage")
            except json.JSONDecodeError:
                continue
            if isinstance(found, dict):
                return found
    return {}


@dataclass(frozen=True, slots=True)
class Summary:
    requests: int
    errors: int
    ttft_p50: float
    ttft_p99: float
    latency_p50: float
    latency_p99: float
    late_p99: float
    """How far behind schedule requests were sent (a client that cannot keep up)."""
    requests_per_second: float


def summary(results: Sequence[Result]) -> Summary:
    """Percentiles over the successful requests (NaN when there are none)."""
    good = [r for r in results if r.ok]
    ttft = [r.ttft for r in good if r.ttft is not None]
    latency = [r.latency for r in good if r.latency is not None]

    def pct(values: Sequence[float], q: float) -> float:
        return float(np.percentile(values, q)) if values else float("nan")

    ends = [r.sent + (r.latency or 0.0) for r in good]
    span = max(ends, default=0.0) - min((r.sent for r in good), default=0.0)
    return Summary(
        requests=len(results),
        errors=len(results) - len(good),
        ttft_p50=pct(ttft, 50),
        ttft_p99=pct(ttft, 99),
        latency_p50=pct(latency, 50),
        latency_p99=pct(latency, 99),
        late_p99=pct([r.sent - r.scheduled for r in results], 99),
        requests_per_second=len(good) / span if span > 0 else float("nan"),
    )
