"""Serving the app with uvicorn: in the foreground (`serve`, behind `k8s4ai server`),
or in a background thread (`start`) for `k8s4ai up` and tests.

The listening socket is bound before uvicorn starts, so `port=0` yields a known port at
once. Shutdown first tells open watches to end, then lets uvicorn drain connections; without
that a single idle watcher would hold shutdown until the graceful timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

from k8s4ai.finops import view
from k8s4ai.server import app as app_module
from k8s4ai.server import auth, body, watch_cache
from k8s4ai.store import interface

DEFAULT_HOST = "127.0.0.1"
"""Loopback only unless asked: a server with auth disabled must not be reachable from afar."""

DEFAULT_PORT = 7420
GRACEFUL_SHUTDOWN_SECONDS = 5


class _Server(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        on_ready: Callable[[], None] | None = None,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._on_shutdown = on_shutdown
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_shutdown is not None:
            self._on_shutdown()
        await super().shutdown(sockets)

    def abort_connections(self) -> None:
        """Drop every open connection at once, mid-response or not: a crash, as clients
        see it. Runs on the server's loop."""
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket made with an explicit IPPROTO_TCP: asyncio turns Nagle's algorithm
    off only on connections whose socket says so, and with Nagle on, a keep-alive client
    waits ~40 ms (its delayed ACK) for every response sent in two writes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.set_inheritable(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _config(
    store: interface.Store,
    *,
    tokens: Mapping[str, auth.Role] | None,
    max_body_bytes: int,
    log_level: str,
    poll_seconds: float,
    cost: view.CostSource | None = None,
    cache: watch_cache.WatchCache | None = None,
    remediation_audit: Path | None = None,
) -> tuple[uvicorn.Config, Callable[[], None]]:
    """The API's uvicorn config, and what tells its open watches to end. The watch cache
    starts filling at once, beside the server, so the first visitor does not wait for it."""
    application = app_module.create_app(
        store, tokens=tokens, max_body_bytes=max_body_bytes, poll_seconds=poll_seconds,
        cost=cost, cache=cache, remediation_audit=remediation_audit,
    )  # fmt: skip
    threading.Thread(target=application.warm, name="k8s4ai-warm", daemon=True).start()
    return uvicorn_config(application, log_level), application.context.stopping.set


def uvicorn_config(application: ASGIApp, log_level: str) -> uvicorn.Config:
    """How every k8s4ai app is served: HTTP/1.1 only, no lifespan, our own logging."""
    return uvicorn.Config(
        application,
        http="h11",
        ws="none",
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def serve(
    store: interface.Store,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    tokens: Mapping[str, auth.Role] | None,
    max_body_bytes: int = body.DEFAULT_MAX_BODY_BYTES,
    log_level: str = "info",
    poll_seconds: float = 1.0,
    on_ready: Callable[[str], None] | None = None,
    cost: view.CostSource | None = None,
    remediation_audit: Path | None = None,
    cache: watch_cache.WatchCache | None = None,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM, then return normally (uvicorn would
    re-raise the signal after its graceful shutdown; returning lets the caller close the
    store and a supervisor see success). `on_ready(url)` runs once connections are accepted."""
    sock = bind(host, port)
    url = _url(host, sock.getsockname()[1])
    ready = None if on_ready is None else (lambda: on_ready(url))
    config, stopping = _config(
        store, tokens=tokens, max_body_bytes=max_body_bytes, log_level=log_level,
        poll_seconds=poll_seconds, cost=cost, remediation_audit=remediation_audit,
        cache=cache,
    )  # fmt: skip
    server = _Server(config, ready, stopping)
    previous = signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            server.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


@dataclass
class RunningServer:
    """A uvicorn server on a background thread. `stop()` (or leaving the `with`) shuts it
    down, letting in-flight requests finish within uvicorn's graceful timeout; `kill()` drops
    them like a crash."""

    url: str
    port: int
    _server: _Server
    _thread: threading.Thread
    _socket: socket.socket

    def stop(self, timeout: float = GRACEFUL_SHUTDOWN_SECONDS + 5.0) -> None:
        self._server.should_exit = True
        self._join(timeout)

    def kill(self, timeout: float = GRACEFUL_SHUTDOWN_SECONDS + 5.0) -> None:
        loop = self._server.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._server.abort_connections)
        self._server.force_exit = True
        self._server.should_exit = True
        self._join(timeout)

    def _join(self, timeout: float) -> None:
        self._thread.join(timeout)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"server at {self.url} did not stop within {timeout}s")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def in_thread(
    config: uvicorn.Config,
    host: str,
    port: int,
    name: str,
    startup_timeout: float = 10.0,
    on_shutdown: Callable[[], None] | None = None,
) -> RunningServer:
    """Serve `config`'s app on a daemon thread; return once it accepts connections."""
    sock = bind(host, port)
    port = sock.getsockname()[1]
    ready = threading.Event()
    server = _Server(config, ready.set, on_shutdown)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"{name}-{port}", daemon=True
    )
    thread.start()
    running = RunningServer(_url(host, port), port, server, thread, sock)
    if not ready.wait(startup_timeout):
        running.stop()
        raise RuntimeError(f"{name} on port {port} did not start within {startup_timeout}s")
    return running


def start(
    store: interface.Store,
    host: str = DEFAULT_HOST,
    port: int = 0,
    *,
    tokens: Mapping[str, auth.Role] | None,
    max_body_bytes: int = body.DEFAULT_MAX_BODY_BYTES,
    log_level: str = "warning",
    poll_seconds: float = 1.0,
    startup_timeout: float = 10.0,
    cost: view.CostSource | None = None,
    cache: watch_cache.WatchCache | None = None,
    remediation_audit: Path | None = None,
) -> RunningServer:
    """Serve in a daemon thread and return once it accepts connections. `poll_seconds` bounds
    how long an open watch takes to notice a disconnect or `stop()`; `cost` feeds
    `/api/v1/allocation` and the cost metrics; `cache`: the watch cache the views read, to
    share with a cost source that lists through it; `remediation_audit`: the remediation
    audit log that `/api/v1/remediation` decides into."""
    config, stopping = _config(
        store, tokens=tokens, max_body_bytes=max_body_bytes, log_level=log_level,
        poll_seconds=poll_seconds, cost=cost, cache=cache, remediation_audit=remediation_audit,
    )  # fmt: skip
    return in_thread(config, host, port, "k8s4ai-api", startup_timeout, stopping)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
