"""The operator's HTTP on a cluster: the cost answers the embedded plane's API server gives
(`/api/v1/allocation`, the OpenCost-named series on `/metrics`), over the Kubernetes
backend's cost loop instead of a store, plus the probes a Deployment needs.

The operator keeps no store of its own (its objects live in the cluster's API server), so
this app has none of the resource API: only what `finops.view.CostSource` can answer. It is
ready once the cost loop has priced the cluster once; before that a report would price an
empty or stale ledger. Tokens work as on the main server (`auth`): probes and `/metrics`
need none, `/api/v1/allocation` a read or write token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from k8s4ai.finops import view
from k8s4ai.server import (
    allocation_api,
    auth,
    cost_metrics,
    cost_views,
    discovery,
    metrics,
    run,
    status,
)

DEFAULT_PORT = run.DEFAULT_PORT
"""The same port the embedded plane's API server listens on: one address to remember."""


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, status.ApiError)
    return status.response(exc)


async def _readyz(ready: Callable[[], bool], request: Request) -> Response:
    if not ready():
        return PlainTextResponse("the cost loop has not priced the cluster yet", 503)
    return PlainTextResponse("ok")


async def _metrics(
    registry: metrics.Metrics, collector: cost_metrics.CostCollector, request: Request
) -> Response:
    await run_in_threadpool(collector.refresh)
    return Response(registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


def _request_metrics() -> metrics.Metrics:
    """The main server's request counters and latencies; its store series are dropped (there
    is no store here, and a resourceVersion of 0 would read as one)."""
    found = metrics.Metrics()
    for family in (found.objects, found.resource_version, found.watchers, found.watch_events):
        found.registry.unregister(family)
    return found


def create_app(
    source: view.CostSource,
    *,
    ready: Callable[[], bool],
    tokens: Mapping[str, auth.Role] | None,
) -> Starlette:
    """`ready`: whether `source` has something to report (the cost loop's first pass ran);
    `tokens=None` disables authentication (`--no-auth`)."""
    registry = _request_metrics()
    collector = cost_metrics.CostCollector(source)
    registry.registry.register(collector)
    table = [
        Route("/healthz", discovery.healthz, methods=["GET"]),
        Route("/readyz", functools.partial(_readyz, ready), methods=["GET"]),
        Route("/metrics", functools.partial(_metrics, registry, collector), methods=["GET"]),
        Route(allocation_api.PATH,
              functools.partial(allocation_api.endpoint, source, cost_views.PerView()),
              methods=["GET"]),
    ]
    middleware = [Middleware(metrics.MetricsMiddleware, metrics=registry)]
    if tokens is not None:
        middleware.append(Middleware(auth.AuthMiddleware, tokens=tokens))
    return Starlette(
        routes=table, middleware=middleware, exception_handlers={status.ApiError: _api_error}
    )


def start(
    source: view.CostSource,
    *,
    ready: Callable[[], bool],
    tokens: Mapping[str, auth.Role] | None,
    host: str = run.DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    log_level: str = "warning",
) -> run.RunningServer:
    """Serve on a daemon thread, so a slow report never holds the operator's event loop;
    return once it accepts connections (`port=0` picks a free one)."""
    application = create_app(source, ready=ready, tokens=tokens)
    return run.in_thread(run.uvicorn_config(application, log_level), host, port, "k8s4ai-cost")
