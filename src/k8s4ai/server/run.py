"""Serving the app with uvicorn: in the foreground (`serve`, `python -m k8s4ai.server.run`),
or in a background thread (`start`) for `k8s4ai up` and tests.

The listening socket is bound before uvicorn starts, so `port=0` yields a known port at
once. Shutdown first tells open watches to end, then lets uvicorn drain connections; without
that a single idle watcher would hold shutdown until the graceful timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Self

import uvicorn

from k8s4ai import store as stores
from k8s4ai.server import app as app_module
from k8s4ai.server import auth, body
from k8s4ai.store import interface

DEFAULT_HOST = "127.0.0.1"
"""Loopback only unless asked: a server with auth disabled must not be reachable from afar."""

DEFAULT_PORT = 7420
GRACEFUL_SHUTDOWN_SECONDS = 5


class _Server(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        stopping: threading.Event,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._stopping = stopping
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._stopping.set()
        await super().shutdown(sockets)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.set_inheritable(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _server(
    store: interface.Store,
    *,
    tokens: Mapping[str, auth.Role] | None,
    max_body_bytes: int,
    log_level: str,
    poll_seconds: float,
    on_ready: Callable[[], None] | None = None,
) -> _Server:
    application = app_module.create_app(
        store, tokens=tokens, max_body_bytes=max_body_bytes, poll_seconds=poll_seconds
    )
    config = uvicorn.Config(
        application,
        http="h11",
        ws="none",
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return _Server(config, application.context.stopping, on_ready)


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
) -> None:
    """Serve until SIGINT/SIGTERM. `on_ready(url)` runs once connections are accepted."""
    sock = bind(host, port)
    url = _url(host, sock.getsockname()[1])
    ready = None if on_ready is None else (lambda: on_ready(url))
    server = _server(
        store, tokens=tokens, max_body_bytes=max_body_bytes, log_level=log_level,
        poll_seconds=poll_seconds, on_ready=ready,
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


@dataclass
class RunningServer:
    """A server on a background thread; `stop()` (or leaving the `with`) shuts it down."""

    url: str
    port: int
    _server: _Server
    _thread: threading.Thread
    _socket: socket.socket

    def stop(self, timeout: float = GRACEFUL_SHUTDOWN_SECONDS + 5.0) -> None:
        self._server.should_exit = True
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
) -> RunningServer:
    """Serve in a daemon thread and return once it accepts connections. `poll_seconds` bounds
    how long an open watch takes to notice a disconnect or `stop()`."""
    sock = bind(host, port)
    port = sock.getsockname()[1]
    ready = threading.Event()
    server = _server(
        store, tokens=tokens, max_body_bytes=max_body_bytes, log_level=log_level,
        poll_seconds=poll_seconds, on_ready=ready.set,
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"k8s4ai-api-{port}", daemon=True
    )
    thread.start()
    running = RunningServer(_url(host, port), port, server, thread, sock)
    if not ready.wait(startup_timeout):
        running.stop()
        raise RuntimeError(f"server on port {port} did not start within {startup_timeout}s")
    return running


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m k8s4ai.server.run --db PATH [--port 0] (--no-auth | --token-file F)`:
    serve a store file without the CLI; prints `listening on URL` once ready."""
    parser = argparse.ArgumentParser(prog="python -m k8s4ai.server.run", description=main.__doc__)
    parser.add_argument("--db", required=True, help="SQLite store file (created if missing)")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    access = parser.add_mutually_exclusive_group(required=True)
    access.add_argument("--no-auth", action="store_true", help="accept requests without tokens")
    access.add_argument("--token-file", help="CSV file of token,role[,user] lines")
    parser.add_argument("--max-body-bytes", type=int, default=body.DEFAULT_MAX_BODY_BYTES)
    parser.add_argument(
        "--synchronous", choices=["FULL", "NORMAL", "EXTRA"], default="FULL",
        help="SQLite durability: FULL survives power loss, NORMAL only process crashes",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    tokens = None if args.no_auth else auth.load_token_file(args.token_file)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it; exit cleanly instead, so
    # the store is closed and a supervisor sees success.
    signal.signal(signal.SIGTERM, _exit_quietly)
    with (
        stores.open_store(args.db, synchronous=args.synchronous) as opened,
        contextlib.suppress(KeyboardInterrupt),  # Ctrl-C, after the graceful shutdown
    ):
        serve(
            opened, args.host, args.port, tokens=tokens, max_body_bytes=args.max_body_bytes,
            on_ready=lambda url: print(f"listening on {url}", flush=True),
        )
    return 0


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)

if __name__ == "__main__":
    sys.exit(main())
