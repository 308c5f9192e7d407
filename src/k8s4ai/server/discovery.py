"""Discovery and probes: what kubectl-style clients ask before anything else (which
resources exist, their scope and verbs), and what orchestrators ask to decide whether to send
traffic (`/healthz` alive, `/readyz` the store answers)."""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from k8s4ai.api import meta, registry
from k8s4ai.server import context, metrics

READY_TIMEOUT_SECONDS = 5.0

_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
_STATUS_VERBS = ["get", "patch", "update"]


def resource_list() -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for kind in registry.KINDS:
        common = {"singularName": kind.singular(), "namespaced": kind.namespaced}
        resources.append(
            {
                "name": kind.plural,
                **common,
                "kind": kind.kind_name,
                "verbs": _VERBS,
                "shortNames": list(kind.short_names),
            }
        )
        resources.append(
            {"name": f"{kind.plural}/status", **common, "singularName": "",
             "kind": kind.kind_name, "verbs": _STATUS_VERBS}
        )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": meta.GROUP_VERSION,
        "resources": resources,
    }


def _group() -> dict[str, Any]:
    version = {"groupVersion": meta.GROUP_VERSION, "version": meta.API_VERSION}
    return {
        "name": meta.API_GROUP,
        "versions": [version],
        "preferredVersion": version,
    }


async def api_resources(request: Request) -> Response:
    metrics.label(request, "GET", "apiresources")
    return JSONResponse(resource_list())


async def api_group(request: Request) -> Response:
    metrics.label(request, "GET", "apigroup")
    return JSONResponse({"kind": "APIGroup", "apiVersion": "v1", **_group()})


async def api_groups(request: Request) -> Response:
    metrics.label(request, "GET", "apigroups")
    return JSONResponse({"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group()]})


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(ctx: context.Context, request: Request) -> Response:
    if ctx.stopping.is_set():
        return PlainTextResponse("shutting down", status_code=503)
    try:
        with anyio.fail_after(READY_TIMEOUT_SECONDS):
            await ctx.call(ctx.store.resource_version)
    except Exception as err:  # any failure means "not ready"; the reason is for humans
        return PlainTextResponse(f"store not ready: {err}", status_code=503)
    return PlainTextResponse("ok")


async def metrics_text(ctx: context.Context, request: Request) -> Response:
    with contextlib.suppress(Exception):  # still report request metrics if the store fails
        await ctx.call(lambda: ctx.metrics.refresh(ctx.store))
    return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
