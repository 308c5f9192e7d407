"""Running a mock replica: in this process on a background thread (`start`, for tests and
benchmarks), or as its own process (`main`, behind ``python -m k8s4ai.testing.replica``).

Always on loopback unless asked otherwise; `port=0` picks a free port, known as soon as
`start` returns.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import uvicorn

from k8s4ai.server import run as api_run
from k8s4ai.testing.replica import latency, server

DEFAULT_HOST = "127.0.0.1"
_STOP_SECONDS = 5.0


def _uvicorn_config(app: server.ReplicaApp, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level=log_level,
        timeout_graceful_shutdown=1,
    )


@dataclass(frozen=True)
class RunningReplica:
    """A replica on a background thread. `stop()` (or leaving the `with`) shuts it down,
    finishing in-flight requests for up to a second; `kill()` drops them like a crash."""

    app: server.ReplicaApp
    _running: api_run.RunningServer

    @property
    def url(self) -> str:
        return self._running.url

    @property
    def port(self) -> int:
        return self._running.port

    def stop(self, timeout: float = _STOP_SECONDS) -> None:
        self._running.stop(timeout)

    def kill(self, timeout: float = _STOP_SECONDS) -> None:
        self._running.kill(timeout)

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
    config: server.ReplicaConfig | None = None,
    host: str = DEFAULT_HOST,
    port: int = 0,
    *,
    log_level: str = "warning",
    startup_timeout: float = 10.0,
) -> RunningReplica:
    """Serve a replica on a daemon thread; return once it accepts connections."""
    app = server.create_app(config or server.ReplicaConfig())
    running = api_run.in_thread(
        _uvicorn_config(app, log_level), host, port, "k8s4ai-replica", startup_timeout
    )
    return RunningReplica(app, running)


def _parser() -> argparse.ArgumentParser:
    defaults, model = server.ReplicaConfig(), latency.LatencyModel()
    parser = argparse.ArgumentParser(
        prog="python -m k8s4ai.testing.replica",
        description="A mock OpenAI-compatible inference replica with an LRU prefix cache "
        "and a latency model (see k8s4ai.testing.replica.latency for the defaults' sources).",
    )
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST)
    add("--port", type=int, default=8000)
    add("--model", default=defaults.model, help="the one model name served")
    add("--cache-blocks", type=int, default=defaults.cache_blocks, help="512-token blocks")
    add("--speed", type=float, default=model.speed, help="divides every duration ('inf': none)")
    add("--prefill-tokens-per-second", type=float, default=model.prefill_tokens_per_second)
    add("--decode-seconds-per-token", type=float, default=model.decode_seconds_per_token)
    add("--decode-seconds-per-running", type=float, default=model.decode_seconds_per_running)
    add("--max-running", type=int, default=model.max_running, help="sequence slots")
    add("--max-model-len", type=int, default=defaults.max_model_len)
    add("--stream-interval", type=float, default=defaults.stream_interval_seconds)
    add(
        "--model-path",
        default=None,
        help="model folder to report to routers, holding a tokenizer.json "
        "(see k8s4ai.testing.replica.tokens.write_tokenizer)",
    )
    add("--log-level", default="warning")
    return parser


def config_from(args: argparse.Namespace) -> server.ReplicaConfig:
    return server.ReplicaConfig(
        model=args.model,
        cache_blocks=args.cache_blocks,
        latency=latency.LatencyModel(
            prefill_tokens_per_second=args.prefill_tokens_per_second,
            decode_seconds_per_token=args.decode_seconds_per_token,
            decode_seconds_per_running=args.decode_seconds_per_running,
            max_running=args.max_running,
            speed=args.speed,
        ),
        max_model_len=args.max_model_len,
        stream_interval_seconds=args.stream_interval,
        model_path=args.model_path,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Serve in the foreground until SIGINT or SIGTERM."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = config_from(args)
    except ValueError as err:
        parser.error(str(err))
    if math.isinf(config.latency.speed):
        print("replica: instant (speed=inf)", file=sys.stderr)
    app = server.create_app(config)
    sock = api_run.bind(args.host, args.port)
    print(f"replica {config.model} serving on {args.host}:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(_uvicorn_config(app, args.log_level)).run(sockets=[sock])
    return 0
