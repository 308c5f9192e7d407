"""The API server as an ASGI app over any Store: the embedded SQLite store for `k8s4ai
server`, or a fake in tests. Serving it (uvicorn, threads, ports) is `run`'s business."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from k8s4ai.api import meta
from k8s4ai.finops import view
from k8s4ai.server import (
    allocation_api,
    auth,
    batch,
    body,
    context,
    cost_api,
    cost_metrics,
    cost_views,
    discovery,
    findings_api,
    metrics,
    openapi,
    remediation_api,
    routes,
    status,
    storage_api,
    summary_api,
    targets,
    watch,
    watch_cache,
)
from k8s4ai.server.dashboard import routes as dashboard_routes
from k8s4ai.store import interface

EXTENSIONS = ("apply", "eventlog", "wait")
"""Our non-resource endpoints under the group path; no kind may take one as its plural."""

WARM_KINDS = ("Node", "GangSchedulingGroup", "Queue", "AcceleratorClass", "TopologyDomain",
              "CheckpointPolicy", "Event")  # fmt: skip

log = logging.getLogger(__name__)


class App(Starlette):
    """A Starlette app that keeps its handlers' context, so a server can signal shutdown."""

    context: context.Context
    cache: watch_cache.WatchCache

    def warm(self) -> None:
        """List the kinds the dashboard reads into the watch cache now, so that its first
        visitor does not wait for 10,000 jobs to be decoded (a server may call this in a
        thread once it serves)."""
        for kind in WARM_KINDS:
            self.cache.snapshot(kind)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, status.ApiError)
    return status.response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no route matched) as Status objects too."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"the server could not find the requested resource {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not supported on {request.url.path}"
    else:
        message = str(exc.detail)
    response = status.response(status.ApiError(exc.status_code, message))
    response.headers.update(exc.headers or {})
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("internal error serving %s %s", request.method, request.url.path, exc_info=exc)
    error = status.ApiError(500, f"internal error: {type(exc).__name__}")
    return JSONResponse(error.body(), status_code=500)


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi.document())


def create_app(
    store: interface.Store,
    *,
    tokens: Mapping[str, auth.Role] | None,
    max_body_bytes: int = body.DEFAULT_MAX_BODY_BYTES,
    poll_seconds: float = 1.0,
    max_wait_seconds: float = 60.0,
    cost: view.CostSource | None = None,
    clock: summary_api.Clock = summary_api.wall_clock,
    cache: watch_cache.WatchCache | None = None,
    remediation_audit: Path | None = None,
) -> App:
    """`tokens=None` disables authentication (local development only); an empty mapping
    refuses every API request. `cost` feeds `/api/v1/allocation` and the cost metrics; without
    it the endpoint answers 404 and /metrics has no cost. `clock` dates the summaries'
    answers; `cache` is the watch cache over `store` the views read (one is made if none is
    given; pass the one the cost source lists through, `watch_cache.CachedLists`, to share it).
    `remediation_audit` is the remediation audit log `/api/v1/remediation` decides into;
    without it those endpoints answer 404."""
    ctx = context.Context(
        store=store,
        metrics=metrics.Metrics(),
        max_body_bytes=max_body_bytes,
        poll_seconds=poll_seconds,
        max_wait_seconds=max_wait_seconds,
    )
    if cost is not None:
        ctx.metrics.add(cost_metrics.CostCollector(cost))
    prefix = targets.PREFIX
    cache = cache if cache is not None else watch_cache.WatchCache(store)
    per_view = cost_views.PerView()
    table: list[BaseRoute] = [
        Route("/healthz", discovery.healthz, methods=["GET"]),
        Route("/readyz", functools.partial(discovery.readyz, ctx), methods=["GET"]),
        Route("/metrics", functools.partial(discovery.metrics_text, ctx), methods=["GET"]),
        Route("/openapi/v3", _openapi, methods=["GET"]),
        Route("/openapi.json", _openapi, methods=["GET"]),
        Route("/apis", discovery.api_groups, methods=["GET"]),
        Route(f"/apis/{meta.API_GROUP}", discovery.api_group, methods=["GET"]),
        Route(allocation_api.PATH, functools.partial(allocation_api.endpoint, cost, per_view),
              methods=["GET"]),
        Route(cost_api.PATH, functools.partial(cost_api.endpoint, cost, per_view),
              methods=["GET"]),
        Route(findings_api.PATH,
              functools.partial(findings_api.endpoint, cache, cost, per_view), methods=["GET"]),
        Route(storage_api.PATH,
              functools.partial(storage_api.endpoint, cache, cost, per_view, clock),
              methods=["GET"]),
        Route(summary_api.SUMMARY_PATH,
              functools.partial(summary_api.summary_endpoint, cache, clock), methods=["GET"]),
        Route(summary_api.OCCUPANCY_PATH,
              functools.partial(summary_api.occupancy_endpoint, cache, clock), methods=["GET"]),
        Route(prefix, discovery.api_resources, methods=["GET"]),
        Route(f"{prefix}/apply", functools.partial(batch.apply, ctx), methods=["POST"]),
        Route(f"{prefix}/eventlog", functools.partial(watch.event_log, ctx), methods=["GET"]),
        Route(f"{prefix}/wait", functools.partial(watch.wait, ctx), methods=["GET"]),
        *remediation_api.Api(store, remediation_audit, tokens, clock).routes(),
        *routes.routes(ctx, cache),
    ]
    middleware = [
        Middleware(dashboard_routes.Dashboard),  # outermost: /ui needs no token
        Middleware(metrics.MetricsMiddleware, metrics=ctx.metrics),
    ]
    if tokens is not None:
        middleware.append(Middleware(auth.AuthMiddleware, tokens=tokens))
    app = App(
        routes=table,
        middleware=middleware,
        exception_handlers={
            status.ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
    app.context = ctx
    app.cache = cache
    return app
