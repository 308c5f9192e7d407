"""Running a router: in the foreground for `k8s4ai router`, or in-process on a free port for
tests, benchmarks and `k8s4ai up`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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


async def serve(
    cfg: config.RouterConfig,
    host: str,
    port: int,
    seed: int = 0,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Until cancelled (Ctrl-C in the CLI); `ready` hears the URL once it accepts requests."""
    running = await start(cfg, host, port, seed)
    if ready is not None:
        ready(running.url)
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()


def run(
    cfg: config.RouterConfig,
    host: str,
    port: int,
    seed: int = 0,
    ready: Callable[[str], None] | None = None,
) -> None:
    """In the foreground, on uvloop where it is installed: most of a proxied request's cost
    is the event loop's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(cfg, host, port, seed, ready))
    else:
        uvloop.run(serve(cfg, host, port, seed, ready))
