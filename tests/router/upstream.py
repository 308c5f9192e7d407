"""A scripted replica for router tests: answers with known bytes, can stream in odd chunks,
fail, or die, so each test states exactly what the router must pass on."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from aiohttp import web

STREAM_CHUNKS = [
    b'data: {"choices":[{"text":"he',
    b'llo"}]}\n\n',
    b'data: {"choices":[{"text":" w\xc3\xb6rld"}]}\n\ndata: [DONE]\n\n',
]


@dataclass
class Upstream:
    models: tuple[str, ...] = ("m",)
    name: str = "a"
    status: int = 200
    stream_delay: float = 0.0
    die_after_chunks: int | None = None
    seen: list[dict[str, object]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/completions", self.complete)
        app.router.add_post("/v1/chat/completions", self.complete)
        app.router.add_get("/v1/models", self.list_models)
        app.router.add_get("/health", self.health)
        return app

    async def start(self) -> str:
        self.runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True}, status=200 if self.status < 500 else 503)

    async def list_models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": m} for m in self.models]})

    async def complete(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        self.seen.append({**body, "_session": request.headers.get("X-Session-ID")})
        if self.status != 200:
            return web.json_response({"error": {"message": "busy"}}, status=self.status)
        if not body.get("stream"):
            return web.json_response({"replica": self.name, "model": body.get("model")})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i, chunk in enumerate(STREAM_CHUNKS):
            if self.die_after_chunks is not None and i == self.die_after_chunks:
                assert request.transport is not None
                request.transport.close()
                return response
            await response.write(chunk)
            await asyncio.sleep(self.stream_delay)
        await response.write_eof()
        return response
