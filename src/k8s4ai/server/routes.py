"""The REST verbs on objects: list, get, create, replace, merge-patch and delete, plus the
`/status` subresource, each a thin translation from HTTP to one store call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from k8s4ai.api import meta, resource, selector
from k8s4ai.server import (
    body,
    context,
    metrics,
    paging,
    references,
    status,
    targets,
    watch,
    watch_cache,
)
from k8s4ai.store import interface, merge_patch

MERGE_PATCH = "application/merge-patch+json"

Endpoint = Callable[[Request], Awaitable[Response]]


def label_selector(request: Request) -> selector.Selector:
    try:
        return selector.parse(request.query_params.get("labelSelector"))
    except ValueError as err:
        raise status.bad_request(f"labelSelector: {err}") from None


def object_response(obj: resource.Resource, code: int = 200) -> JSONResponse:
    return JSONResponse(obj.wire(), status_code=code)


async def check_references(
    ctx: context.Context, target: targets.Target, obj: resource.Resource
) -> None:
    found = await ctx.call(lambda: references.problems(ctx.store, [obj]))
    if found:
        name = obj.metadata.name
        raise status.invalid([problem for _, problem in found], kind=target.kind, name=name)


class Handlers:
    def __init__(self, ctx: context.Context, cache: watch_cache.WatchCache) -> None:
        self.ctx = ctx
        self.cache = cache

    async def collection_get(self, request: Request) -> Response:
        target = targets.resolve(request)
        if request.query_params.get("watch", "").lower() in ("1", "true"):
            metrics.label(request, "WATCH", target.plural)
            return watch.stream(self.ctx, request, target, label_selector(request))
        metrics.label(request, "LIST", target.plural)
        chosen = label_selector(request)
        if paging.wanted(request.query_params):
            asked = paging.parse(target.kind, request.query_params)
            snapshot = await self.ctx.call(
                lambda: self.cache.snapshot(target.kind), kind=target.kind
            )
            return Response(
                await self.ctx.call(lambda: paging.page(
                    snapshot, target.namespace, chosen, asked, self.cache.encoded
                )),
                media_type="application/json",
            )
        listed = await self.ctx.call(
            lambda: self.ctx.store.list(target.kind, target.namespace, chosen), kind=target.kind
        )
        return JSONResponse(
            {
                "apiVersion": meta.GROUP_VERSION,
                "kind": f"{target.kind}List",
                "metadata": {"resourceVersion": str(listed.resource_version)},
                "items": [item.wire() for item in listed.items],
            }
        )

    async def create(self, request: Request) -> Response:
        target = targets.resolve(request)
        metrics.label(request, "CREATE", target.plural)
        if target.cls.namespaced and target.namespace is None:
            raise status.ApiError(
                405, f"create {target.plural} under a namespace: POST "
                f"{targets.PREFIX}/namespaces/{{namespace}}/{target.plural}",
                kind=target.kind,
            )
        obj = targets.decode(target, await body.read_json(request, self.ctx.max_body_bytes))
        await check_references(self.ctx, target, obj)
        created = await self.ctx.call(
            lambda: self.ctx.store.create(obj), kind=target.kind, name=obj.metadata.name
        )
        return object_response(created, 201)

    async def get(self, request: Request) -> Response:
        target = targets.resolve(request)
        metrics.label(request, "GET", target.plural)
        return object_response(await self._get(target))

    async def replace(self, request: Request, subresource: interface.Subresource) -> Response:
        target = targets.resolve(request)
        metrics.label(request, "UPDATE", target.plural)
        obj = targets.decode(target, await body.read_json(request, self.ctx.max_body_bytes))
        if subresource == "spec":
            await check_references(self.ctx, target, obj)
        replaced = await self.ctx.call(
            lambda: self.ctx.store.replace(obj, subresource), kind=target.kind, name=target.name
        )
        return object_response(replaced)

    async def patch(self, request: Request, subresource: interface.Subresource) -> Response:
        target = targets.resolve(request)
        metrics.label(request, "PATCH", target.plural)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != MERGE_PATCH:
            raise status.ApiError(
                415, f"unsupported patch type {media_type or '(none)'!r}; use {MERGE_PATCH}",
                kind=target.kind, name=target.name,
            )
        patch = await body.read_json(request, self.ctx.max_body_bytes)
        if subresource == "spec":
            await self._check_patched_references(target, patch)
        name = target.object_name
        patched = await self.ctx.call(
            lambda: self.ctx.store.patch(target.kind, name, target.namespace, patch, subresource),
            kind=target.kind, name=name,
        )
        return object_response(patched)

    async def delete(self, request: Request) -> Response:
        target = targets.resolve(request)
        metrics.label(request, "DELETE", target.plural)
        options = await body.read_json(request, self.ctx.max_body_bytes, optional=True)
        rv = request.query_params.get("resourceVersion") or _precondition(options)
        name = target.object_name
        deleted = await self.ctx.call(
            lambda: self.ctx.store.delete(target.kind, name, target.namespace, rv),
            kind=target.kind, name=name,
        )
        return object_response(deleted)

    async def _get(self, target: targets.Target) -> resource.Resource:
        name = target.object_name
        return await self.ctx.call(
            lambda: self.ctx.store.get(target.kind, name, target.namespace),
            kind=target.kind, name=name,
        )

    async def _check_patched_references(
        self, target: targets.Target, patch: dict[str, Any]
    ) -> None:
        """What the patch would produce is checked like a replace; an object the patch makes
        invalid is left for the store to reject, with its own wording."""
        current = await self._get(target)
        try:
            merged = target.cls.model_validate(merge_patch.apply(current.wire(), patch))
        except ValidationError:
            return
        await check_references(self.ctx, target, merged)


def _precondition(options: dict[str, Any]) -> str | None:
    """The resourceVersion precondition of a DeleteOptions body, if it has one."""
    preconditions = options.get("preconditions")
    if not isinstance(preconditions, dict):
        return None
    rv = preconditions.get("resourceVersion")
    if rv is not None and not isinstance(rv, str):
        raise status.bad_request("preconditions.resourceVersion must be a string")
    return rv


def routes(ctx: context.Context, cache: watch_cache.WatchCache) -> list[BaseRoute]:
    handlers = Handlers(ctx, cache)

    def subresource(
        method: Callable[[Request, interface.Subresource], Awaitable[Response]],
        which: interface.Subresource,
    ) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await method(request, which)

        return endpoint

    def object_routes(base: str) -> list[BaseRoute]:
        item = f"{base}/{{name}}"
        return [
            Route(base, handlers.collection_get, methods=["GET"]),
            Route(base, handlers.create, methods=["POST"]),
            Route(item, handlers.get, methods=["GET"]),
            Route(item, subresource(handlers.replace, "spec"), methods=["PUT"]),
            Route(item, subresource(handlers.patch, "spec"), methods=["PATCH"]),
            Route(item, handlers.delete, methods=["DELETE"]),
            Route(f"{item}/status", handlers.get, methods=["GET"]),
            Route(f"{item}/status", subresource(handlers.replace, "status"), methods=["PUT"]),
            Route(f"{item}/status", subresource(handlers.patch, "status"), methods=["PATCH"]),
        ]

    return [
        *object_routes(f"{targets.PREFIX}/namespaces/{{namespace}}/{{plural}}"),
        *object_routes(f"{targets.PREFIX}/{{plural}}"),
    ]
