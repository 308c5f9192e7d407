"""What a replica's HTTP endpoints share: the engine, the counts of requests answered,
response ids, and reading bodies under a size limit."""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from k8s4ai.server import body, status
from k8s4ai.testing.replica import engine, prefix_cache, protocol

if TYPE_CHECKING:
    from k8s4ai.testing.replica import server

Handler = Callable[[Request], Awaitable[Response]]


class Replica:
    def __init__(self, config: server.ReplicaConfig, wall: Callable[[], float] = time.time) -> None:
        self.config = config
        self.engine = engine.Engine(config.latency, prefix_cache.PrefixCache(config.cache_blocks))
        self.http: Counter[tuple[str, int]] = Counter()
        """Requests answered, by endpoint name and status code."""
        self.wall = wall
        """Stamps responses' `created` field."""
        self._ids = itertools.count(1)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):x}"

    def counted(self, name: str, handler: Handler) -> Handler:
        """`handler`, answering `OpenAIError`s in OpenAI's shape and counting its answers."""

        async def endpoint(request: Request) -> Response:
            try:
                response = await handler(request)
            except protocol.OpenAIError as err:
                response = JSONResponse(err.body(), status_code=err.status)
            self.http[name, response.status_code] += 1
            return response

        return endpoint

    async def read_json(self, request: Request) -> dict[str, Any]:
        try:
            raw = await body.read(request, self.config.max_body_bytes)
        except status.ApiError as err:
            raise protocol.OpenAIError(err.code, err.message) from None
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise protocol.bad_request(f"request body is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise protocol.bad_request("request body must be a JSON object")
        return data
