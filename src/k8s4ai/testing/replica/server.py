"""The mock replica's HTTP face: an OpenAI-compatible server that stands in for vLLM, with
`/v1/completions` and `/v1/chat/completions` (streamed as SSE or not), `/v1/models`,
`/health` and `/metrics`, plus what routers probe (`probes`).

Errors are OpenAI's shape, ``{"error": {message, type, param, code}}``: 400 for malformed
JSON or a bad field, 404 for an unknown model or path, 413 for a body over the limit.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import prometheus_client
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from k8s4ai.testing.replica import engine, latency, metrics, probes, protocol, state, tokens

log = logging.getLogger(__name__)

DEFAULT_CACHE_BLOCKS = 850
"""KV-cache capacity of Llama-3.1-8B (BF16) on one 80 GB H100, in 512-token blocks: 128 KiB
of K and V per token (32 layers × 8 KV heads × 128 dims × 2 × 2 bytes), 90 % of 80 GB less
16 GB of weights leaves ~56 GB, ~437k tokens."""

DEFAULT_MAX_MODEL_LEN = 131_072
"""Llama-3.1's context length."""


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    model: str = "mock-llama-8b"
    cache_blocks: int = DEFAULT_CACHE_BLOCKS
    latency: latency.LatencyModel = field(default_factory=latency.LatencyModel)
    max_model_len: int = DEFAULT_MAX_MODEL_LEN
    stream_interval_seconds: float = 0.02
    """Longest a stream goes without a chunk while decoding; fewer, fuller chunks keep a
    replica's CPU cost per request low (SGLang's `--stream-interval` does the same)."""
    max_body_bytes: int = 64 * 1024 * 1024
    model_path: str | None = None
    """What `/model_info` and `/server_info` report as the model's (and tokenizer's) folder,
    as SGLang reports its `--model-path` beside `served_model_name`; default: the model
    name. sglang-router loads a tokenizer from it: see `tokens.write_tokenizer`."""


class ReplicaApp(Starlette):
    """A Starlette app that keeps its engine and config where tests can reach them."""

    engine: engine.Engine
    config: ReplicaConfig


def create_app(config: ReplicaConfig, wall: Callable[[], float] = time.time) -> ReplicaApp:
    """The replica as an ASGI app; `wall` stamps responses' `created` field."""
    replica = state.Replica(config, wall)
    registry = metrics.registry(replica.engine, config.model, replica.http)
    unknown: set[str] = set()

    async def generate(request: Request, chat: bool) -> Response:
        generation = protocol.parse(
            await replica.read_json(request),
            chat=chat,
            served=config.model,
            max_model_len=config.max_model_len,
        )
        hashes = tokens.block_hashes(generation.tokens)
        request_id = replica.next_id("chatcmpl" if chat else "cmpl")
        writer = protocol.Writer(generation, request_id, int(wall()))
        if generation.stream:
            return StreamingResponse(
                stream(generation, hashes, writer), media_type="text/event-stream"
            )
        async with replica.engine.sequence(len(generation.tokens), hashes) as sequence:
            await sequence.prefill()
            produced = 0
            async for count in sequence.decode(generation.max_tokens, math.inf):
                produced += count
        return JSONResponse(writer.whole(sequence.cached_tokens, produced))

    async def stream(
        generation: protocol.Generation, hashes: list[bytes], writer: protocol.Writer
    ) -> AsyncIterator[bytes]:
        async with replica.engine.sequence(len(generation.tokens), hashes) as sequence:
            await sequence.prefill()
            produced = 0
            interval = config.stream_interval_seconds
            async for count in sequence.decode(generation.max_tokens, interval):
                produced += count
                yield writer.chunk(count, produced == count, produced == generation.max_tokens)
            if generation.include_usage:
                yield writer.usage_chunk(sequence.cached_tokens, produced)
        yield protocol.DONE

    async def completions(request: Request) -> Response:
        return await generate(request, chat=False)

    async def chat_completions(request: Request) -> Response:
        return await generate(request, chat=True)

    async def models(request: Request) -> Response:
        card = {
            "id": config.model,
            "object": "model",
            "created": int(wall()),
            "owned_by": "k8s4ai",
            "root": config.model,
            "parent": None,
            "max_model_len": config.max_model_len,
        }
        return JSONResponse({"object": "list", "data": [card]})

    async def health(request: Request) -> Response:
        return Response(status_code=200)

    async def scrape(request: Request) -> Response:
        return Response(
            prometheus_client.generate_latest(registry),
            media_type=prometheus_client.CONTENT_TYPE_LATEST,
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 404
        message = f"{request.method} {request.url.path} is not served here"
        error = protocol.OpenAIError(code, message, code="not_found" if code == 404 else None)
        replica.http["unknown", code] += 1
        # Once per path: routers probe optional endpoints often. sglang-router opens with an
        # HTTP/2 preface ("PRI *") to detect gRPC workers, then falls back to HTTP/1.1.
        if message not in unknown and request.method != "PRI":
            unknown.add(message)
            log.warning("%s: answered %d", message, code)
        return JSONResponse(error.body(), status_code=code)

    counted = replica.counted
    routes = [
        Route("/v1/completions", counted("completions", completions), methods=["POST"]),
        Route("/v1/chat/completions", counted("chat", chat_completions), methods=["POST"]),
        Route("/v1/models", counted("models", models), methods=["GET"]),
        Route("/health", counted("health", health), methods=["GET"]),
        Route("/health_generate", counted("health", health), methods=["GET"]),
        Route("/metrics", scrape, methods=["GET"]),
        *probes.routes(replica),
    ]
    app = ReplicaApp(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.engine = replica.engine
    app.config = config
    return app
