"""`POST /apis/k8s4ai.io/v1alpha1/apply`: our extension for `k8s4ai apply -f`, so a set of
manifests is written all-or-nothing in one store transaction, which kubectl's one-request-
per-object apply cannot promise.

Every item is validated (and its references checked) before anything is written; problems
are reported together, with fields named `items[i].<path>` so the CLI can point at the
document that is wrong.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from k8s4ai.api import errors as api_errors
from k8s4ai.api import registry, resource
from k8s4ai.server import body, context, metrics, references, status


def _item(index: int, data: object) -> tuple[resource.Resource | None, list[api_errors.FieldError]]:
    where = f"items[{index}]"
    if not isinstance(data, dict):
        return None, [api_errors.FieldError(where, "must be an object")]
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        return None, [api_errors.FieldError(f"{where}.kind", "required field is missing")]
    try:
        cls = registry.by_kind(kind)
    except registry.UnknownKindError as err:
        return None, [api_errors.FieldError(f"{where}.kind", str(err))]
    metadata = data.get("metadata")
    if not cls.namespaced and isinstance(metadata, dict) and metadata.get("namespace"):
        return None, [
            api_errors.FieldError(f"{where}.metadata.namespace", f"{kind} is cluster-scoped")
        ]
    try:
        return cls.model_validate(data), []
    except ValidationError as err:
        return None, api_errors.from_validation_error(err, ("items", index))


def _under(index: int, path: str) -> str:
    return f"items[{index}].{path}" if path else f"items[{index}]"


def _duplicates(objs: list[resource.Resource]) -> list[api_errors.FieldError]:
    first: dict[tuple[str, str, str], int] = {}
    problems = []
    for index, obj in enumerate(objs):
        key = (obj.kind, obj.metadata.namespace or "default", obj.metadata.name)
        if not obj.namespaced:
            key = (obj.kind, "", obj.metadata.name)
        if key in first:
            problems.append(
                api_errors.FieldError(
                    f"items[{index}].metadata.name", f"same object as items[{first[key]}]"
                )
            )
        first.setdefault(key, index)
    return problems


def decode(data: dict[str, Any]) -> list[resource.Resource]:
    if data.get("kind", "List") != "List":
        raise status.bad_request(f"expected a List of objects, not {data.get('kind')!r}")
    items = data.get("items")
    if not isinstance(items, list):
        raise status.bad_request("a List needs `items`: an array of objects")
    objs: list[resource.Resource] = []
    causes: list[api_errors.FieldError] = []
    for index, item in enumerate(items):
        obj, problems = _item(index, item)
        causes += problems
        if obj is not None:
            objs.append(obj)
    if not causes:
        causes = _duplicates(objs)
    if causes:
        raise status.invalid(causes, kind="List")
    return objs


async def apply(ctx: context.Context, request: Request) -> Response:
    metrics.label(request, "APPLY")
    objs = decode(await body.read_json(request, ctx.max_body_bytes))
    found = await ctx.call(lambda: references.problems(ctx.store, objs))
    if found:
        raise status.invalid(
            [api_errors.FieldError(_under(i, p.path), p.reason) for i, p in found],
            kind="List",
        )
    results = await ctx.call(lambda: ctx.store.apply(objs))
    return JSONResponse(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [{"outcome": r.outcome, "object": r.object.wire()} for r in results],
        }
    )
