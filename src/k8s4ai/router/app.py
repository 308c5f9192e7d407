"""Running a router: in the foreground for `k8s4ai router`, or in-process on a free port for
tests, benchmarks and `k8s4ai up`."""

from __future__ import annotations

import asyncio
import threading
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
    loop: asyncio.AbstractEventLoop

    def set_endpoints(self, urls: tuple[str, ...]) -> None:
        """Route to `urls` from now on; for other threads, returning once the router has
        switched (new replicas probed)."""
        asyncio.run_coroutine_threadsafe(self.router.set_endpoints(urls), self.loop).result()

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
    return Running(router, runner, f"http://{host}:{bound}", asyncio.get_running_loop())


async def serve(
    cfg: config.RouterConfig,
    host: str,
    port: int,
    seed: int = 0,
    ready: Callable[[Running], None] | None = None,
) -> None:
    """Until cancelled (Ctrl-C in the CLI); `ready` hears of the router once it accepts
    requests."""
    running = await start(cfg, host, port, seed)
    if ready is not None:
        ready(running)
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()


def run(
    cfg: config.RouterConfig,
    host: str,
    port: int,
    seed: int = 0,
    ready: Callable[[Running], None] | None = None,
) -> None:
    """In the foreground, on uvloop where it is installed: most of a proxied request's cost
    is the event loop's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(cfg, host, port, seed, ready))
    else:
        uvloop.run(serve(cfg, host, port, seed, ready))


class InThread:
    """A router on its own event loop in a daemon thread, for a process whose main thread is
    busy elsewhere (`k8s4ai up`)."""

    def __init__(self, cfg: config.RouterConfig, host: str, port: int, seed: int = 0) -> None:
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._running: Running | None = None
        self._thread = threading.Thread(
            target=self._run, args=(cfg, host, port, seed), name="k8s4ai-router", daemon=True
        )
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error

    @property
    def url(self) -> str:
        assert self._running is not None
        return self._running.url

    @property
    def router(self) -> proxy.Router:
        assert self._running is not None
        return self._running.router

    def set_endpoints(self, urls: tuple[str, ...]) -> None:
        assert self._running is not None
        self._running.set_endpoints(urls)

    def _run(self, cfg: config.RouterConfig, host: str, port: int, seed: int) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._running = self._loop.run_until_complete(start(cfg, host, port, seed))
        except BaseException as err:  # handed to the caller's thread
            self._error = err
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()

    def stop(self, timeout: float = 5.0) -> None:
        if self._running is not None:
            future = asyncio.run_coroutine_threadsafe(self._running.stop(), self._loop)
            future.result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop.close()
