"""What every handler needs, passed explicitly rather than fished out of `app.state`, so the
handlers stay typed and a test can build one without an app."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from k8s4ai.server import metrics, status
from k8s4ai.store import errors as store_errors
from k8s4ai.store import interface

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Context:
    store: interface.Store
    metrics: metrics.Metrics
    max_body_bytes: int
    poll_seconds: float = 1.0
    """Longest a watch sits in one blocking store.wait before it checks for a disconnect."""
    max_wait_seconds: float = 60.0
    """Longest one long-poll (`/wait`) or unbounded watch request may block in a single call."""
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the server shuts down, so open watches end instead of holding it up."""
    watch_threads: anyio.CapacityLimiter = field(
        default_factory=lambda: anyio.CapacityLimiter(256)
    )
    """Watches block in their own thread pool, so a crowd of idle watchers cannot starve
    ordinary requests of worker threads."""

    async def call(
        self, fn: Callable[[], T], *, kind: str | None = None, name: str | None = None
    ) -> T:
        """Run a blocking store call off the event loop and turn its failures into Status."""
        try:
            return await run_in_threadpool(fn)
        except store_errors.StoreError as err:
            raise status.from_store_error(err, kind=kind, name=name) from None
        except ValidationError as err:
            raise status.from_validation_error(err, kind=kind, name=name) from None

    async def wait(self, after: int, timeout: float) -> int:
        """store.wait for at most poll_seconds, in the watchers' own thread pool."""
        seconds = max(0.0, min(timeout, self.poll_seconds))
        try:
            return await anyio.to_thread.run_sync(
                self.store.wait, after, seconds, limiter=self.watch_threads
            )
        except store_errors.StoreError as err:
            raise status.from_store_error(err) from None
