"""Running a router: in the foreground for `k8s4ai router`, or in-process on a free port for
tests, benchmarks and `k8s4ai up`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
from aiohttp import web

from k8s4ai.router import config, proxy

DEFAULT_HOST = "127.0.0.1"


@dataclass(slots=True)
class Running:
    router: proxy.Router
    runner: web.AppRunner
    url: str

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start(
    cfg: config.RouterConfig, host: str = DEFAULT_HOST, port: int = 0, seed: int = 0
) -> Running:
    router = proxy.Router(cfg, np.random.default_rng(seed))
    runner = web.AppRunner(router.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return Running(router, runner, f"http://{host}:{bound}")


async def serve(cfg: config.RouterConfig, host: str, port: int, seed: int = 0) -> None:
    """Until cancelled (Ctrl-C in the CLI)."""
    running = await start(cfg, host, port, seed)
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()
