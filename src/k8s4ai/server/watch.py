"""Watching: a stream of newline-delimited `{"type", "object"}` events, as kube-apiserver
sends them, plus two non-streaming forms of the same log for clients that poll (the HTTP
store's `events` and `wait`).

Every form reads the store's event log from a cursor, so a client that resumes from the last
resourceVersion it saw gets each later event exactly once and in order. Kind, namespace and
label selector are applied by the store, which turns an object leaving or entering the
selection into DELETED or ADDED; when a batch is short the cursor moves to the log's head.
Blocking waits run in worker threads for at most `poll_seconds` at a time, so a disconnect
or shutdown is noticed within that bound.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from k8s4ai.api import meta, registry, selector
from k8s4ai.server import context, metrics, status, targets
from k8s4ai.store import interface

BATCH = 500
"""Events read per store call; a watcher far behind catches up in several reads."""
MAX_PAGE = 5000
"""The most events one `eventlog` request returns (HttpStore pages past it)."""


def event_wire(event: interface.WatchEvent) -> dict[str, Any]:
    """The object carries its event's resourceVersion (for a DELETED event that is the
    deletion's), so a client resuming from the last object it saw misses nothing."""
    data = event.object.wire()
    data.setdefault("metadata", {})["resourceVersion"] = str(event.resource_version)
    return {"type": event.type, "object": data}


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode() + b"\n"


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise status.bad_request(f"{name} must be an integer, not {raw!r}") from None
    if value < 0:
        raise status.bad_request(f"{name} must not be negative")
    return value


def _float_param(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise status.bad_request(f"{name} must be a number, not {raw!r}") from None
    if not value >= 0:
        raise status.bad_request(f"{name} must not be negative")
    return value


class WatchResponse(StreamingResponse):
    """Always listens for the client going away and cancels the stream when it does. Starlette
    only does so for servers below ASGI 2.4; above it a silent watch would never notice."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:

            async def stream_then_stop() -> None:
                await self.stream_response(send)
                group.cancel_scope.cancel()

            group.start_soon(stream_then_stop)
            await self.listen_for_disconnect(receive)
            group.cancel_scope.cancel()


def stream(
    ctx: context.Context, request: Request, target: targets.Target, chosen: selector.Selector
) -> Response:
    since = _int_param(request, "resourceVersion") or None  # "0" means "from now", as in k8s
    timeout = _int_param(request, "timeoutSeconds")
    deadline = None if timeout is None else time.monotonic() + timeout
    return WatchResponse(
        _events(ctx, target, chosen, since, deadline), media_type="application/json"
    )


async def _events(
    ctx: context.Context,
    target: targets.Target,
    chosen: selector.Selector,
    since: int | None,
    deadline: float | None,
) -> AsyncIterator[bytes]:
    store = ctx.store
    gauge = ctx.metrics.watchers.labels(target.plural)
    sent = ctx.metrics.watch_events.labels(target.plural)
    gauge.inc()
    try:
        if since is None:
            listed = await ctx.call(lambda: store.list(target.kind, target.namespace, chosen))
            for item in listed.items:
                yield _line({"type": "ADDED", "object": item.wire()})
                sent.inc()
            since = listed.resource_version
        elif since > await ctx.call(store.resource_version):
            # Events up to a future version would be skipped unseen; Kubernetes refuses too.
            raise status.ApiError(504, f"Too large resource version: {since}")
        while not ctx.stopping.is_set():
            latest = await ctx.call(store.resource_version)
            events = await ctx.call(
                functools.partial(
                    store.events, since, target.kind, target.namespace, chosen, limit=BATCH
                )
            )
            for event in events:
                since = event.resource_version
                yield _line(event_wire(event))
                sent.inc()
            if len(events) >= BATCH:
                continue
            since = max(since, latest)  # past the other kinds' writes too
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            await ctx.wait(since, ctx.poll_seconds if remaining is None else remaining)
    except status.ApiError as err:
        yield _line({"type": "ERROR", "object": err.body()})
    finally:
        gauge.dec()


async def event_log(ctx: context.Context, request: Request) -> Response:
    """`GET .../eventlog?resourceVersion=N[&kind=K&namespace=NS&labelSelector=S&limit=L]`:
    the store's `events` over HTTP, one page, 410 Expired when N was compacted."""
    metrics.label(request, "EVENTS")
    since = _int_param(request, "resourceVersion") or 0
    limit = min(_int_param(request, "limit") or BATCH, MAX_PAGE)
    kind_param = request.query_params.get("kind") or None
    kind = None
    if kind_param is not None:
        try:
            kind = registry.lookup(kind_param).kind_name
        except registry.UnknownKindError as err:
            raise status.bad_request(str(err)) from None
    namespace = request.query_params.get("namespace") or None
    try:
        chosen = selector.parse(request.query_params.get("labelSelector"))
    except ValueError as err:
        raise status.bad_request(f"labelSelector: {err}") from None
    latest = await ctx.call(ctx.store.resource_version)
    events = await ctx.call(lambda: ctx.store.events(since, kind, namespace, chosen, limit))
    return JSONResponse(
        {
            "apiVersion": meta.GROUP_VERSION,
            "kind": "EventLog",
            "metadata": {"resourceVersion": str(latest)},
            "items": [event_wire(event) for event in events],
        }
    )


async def wait(ctx: context.Context, request: Request) -> Response:
    """`GET .../wait?resourceVersion=N&timeoutSeconds=T`: a long poll answering with the
    latest resourceVersion once it passes N, or at the timeout (capped at max_wait_seconds).
    Without N it answers at once: the cheapest way to read the current version."""
    metrics.label(request, "WAIT")
    after = _int_param(request, "resourceVersion")
    timeout = min(_float_param(request, "timeoutSeconds") or 0.0, ctx.max_wait_seconds)
    latest = await ctx.call(ctx.store.resource_version)
    if after is not None:
        deadline = time.monotonic() + timeout
        while latest <= after and not ctx.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or await request.is_disconnected():
                break
            latest = await ctx.wait(after, remaining)
    return JSONResponse({"resourceVersion": str(latest)})
