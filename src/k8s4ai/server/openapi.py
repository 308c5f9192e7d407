"""The OpenAPI 3.0 document of the API, generated from the pydantic models so it cannot drift
from what the server validates. Pydantic emits JSON Schema 2020-12; the few constructs
OpenAPI 3.0 spells differently (null unions, `const`, numeric exclusive bounds, Python regex
groups) are rewritten, so generators such as openapi-generator accept it.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic.json_schema import models_json_schema

from k8s4ai.api import meta, registry, resource
from k8s4ai.server import (
    allocation_api,
    cost_api,
    findings_api,
    paging,
    remediation_api,
    storage_api,
    summary_api,
    targets,
)

STATUS_SCHEMA = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
_REF = "#/components/schemas/{model}"


def _to_openapi30(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_openapi30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _to_openapi30(value) for key, value in node.items()}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[plain] = out.pop(bound)
            out[bound] = True
    if isinstance(out.get("pattern"), str):
        out["pattern"] = out["pattern"].replace("(?P<", "(?<")
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del out["anyOf"]
        out["nullable"] = True
        if len(rest) == 1 and "$ref" in rest[0]:
            out["allOf"] = rest
        elif len(rest) == 1:
            out.update(rest[0])
        else:
            out["anyOf"] = rest
    return out


def _status_schema() -> dict[str, Any]:
    cause = {
        "type": "object",
        "properties": {name: {"type": "string"} for name in ("field", "message", "reason")},
    }
    return {
        "type": "object",
        "description": "A failure, as Kubernetes reports it.",
        "properties": {
            "kind": {"type": "string", "enum": ["Status"]},
            "apiVersion": {"type": "string"},
            "status": {"type": "string"},
            "message": {"type": "string"},
            "reason": {"type": "string"},
            "code": {"type": "integer"},
            "details": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                    "causes": {"type": "array", "items": cause},
                },
            },
        },
    }


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _REF.format(model=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operations(kind: type[resource.Resource]) -> dict[str, dict[str, Any]]:
    name = kind.kind_name
    obj = _ref(name)
    errors = {"default": _json(_ref(STATUS_SCHEMA), "A Status describing the failure")}
    listed = {
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string", "enum": [f"{name}List"]},
            "metadata": {
                "type": "object",
                "properties": {
                    "resourceVersion": {"type": "string"},
                    "continue": {"type": "string"},
                    "remainingItemCount": {"type": "integer"},
                },
            },
            "items": {"type": "array", "items": obj},
        },
    }
    query = [
        {"name": "labelSelector", "in": "query", "schema": {"type": "string"}},
        {"name": "watch", "in": "query", "schema": {"type": "boolean"}},
        {"name": "resourceVersion", "in": "query", "schema": {"type": "string"}},
        {"name": "timeoutSeconds", "in": "query", "schema": {"type": "integer"}},
        {"name": "fieldSelector", "in": "query", "schema": {"type": "string"},
         "description": "Fields: " + ", ".join(paging.supported_fields(name)) + "; operators "
         "=, ==, !=, in, notin"},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "continue", "in": "query", "schema": {"type": "string"}},
    ]
    body = {"required": True, "content": {"application/json": {"schema": obj}}}
    patch = {
        "required": True,
        "content": {"application/merge-patch+json": {"schema": {"type": "object"}}},
    }
    one = {"200": _json(obj, f"The {name}"), **errors}

    def op(
        verb: str, summary: str, responses: dict[str, Any], suffix: str = "", **extra: Any
    ) -> dict[str, Any]:
        return {
            "operationId": f"{verb}{name}{suffix}",
            "summary": summary,
            "tags": [kind.plural],
            "responses": responses,
            **extra,
        }

    return {
        "collection": {
            "get": op("list", f"List or watch {kind.plural}",
                      {"200": _json(listed, f"{name}List, or a stream of watch events"),
                       **errors}, parameters=query),
            "post": op("create", f"Create a {name}",
                       {"201": _json(obj, f"The created {name}"), **errors}, requestBody=body),
        },
        "item": {
            "get": op("read", f"Read a {name}", one),
            "put": op("replace", f"Replace a {name}", one, requestBody=body),
            "patch": op("patch", f"Merge-patch a {name}", one, requestBody=patch),
            "delete": op("delete", f"Delete a {name}", one),
        },
        "status": {
            "get": op("read", f"Read a {name}'s status", one, "Status"),
            "put": op("replace", f"Replace a {name}'s status", one, "Status", requestBody=body),
            "patch": op(
                "patch", f"Merge-patch a {name}'s status", one, "Status", requestBody=patch
            ),
        },
    }


def _with_params(ops: dict[str, Any], params: list[str]) -> dict[str, Any]:
    parameters = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
    ]
    return {**ops, "parameters": parameters}


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for kind in registry.KINDS:
        ops = _operations(kind)
        base = targets.collection_path(kind, "{namespace}" if kind.namespaced else None)
        scope = ["namespace"] if kind.namespaced else []
        paths[base] = _with_params(ops["collection"], scope)
        paths[f"{base}/{{name}}"] = _with_params(ops["item"], [*scope, "name"])
        paths[f"{base}/{{name}}/status"] = _with_params(ops["status"], [*scope, "name"])
        if kind.namespaced:
            every = dict(ops["collection"]["get"])
            every["operationId"] = f"list{kind.kind_name}ForAllNamespaces"
            paths[targets.collection_path(kind, None)] = {"get": every}
    return paths


def _extension_paths() -> dict[str, Any]:
    """Our endpoints beyond Kubernetes' verbs (see `batch` and `watch`)."""
    errors = {"default": _json(_ref(STATUS_SCHEMA), "A Status describing the failure")}
    anything = {"type": "object"}

    def query(*names: str) -> list[dict[str, Any]]:
        return [{"name": n, "in": "query", "schema": {"type": "string"}} for n in names]

    return {
        f"{targets.PREFIX}/apply": {"post": {
            "operationId": "applyList",
            "summary": "Create or update a List of objects, all or nothing",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": anything}}},
            "responses": {"200": _json(anything, "The outcome per item"), **errors},
        }},
        f"{targets.PREFIX}/eventlog": {"get": {
            "operationId": "readEventLog",
            "summary": "One page of the event log after a resourceVersion",
            "parameters": query("resourceVersion", "kind", "namespace", "labelSelector", "limit"),
            "responses": {"200": _json(anything, "Events, oldest first"), **errors},
        }},
        f"{targets.PREFIX}/wait": {"get": {
            "operationId": "waitForChange",
            "summary": "Long poll until the store passes a resourceVersion",
            "parameters": query("resourceVersion", "timeoutSeconds"),
            "responses": {"200": _json(anything, "The latest resourceVersion"), **errors},
        }},
    }


def _view_paths() -> dict[str, Any]:
    """Read-only answers made for dashboards (see `summary_api`, `cost_api`, `allocation_api`)."""
    errors = {"default": _json(_ref(STATUS_SCHEMA), "A Status describing the failure")}
    anything = {"type": "object"}

    def get(operation: str, summary: str, answer: str, *params: dict[str, Any]) -> Any:
        return {"get": {
            "operationId": operation, "summary": summary, "tags": ["views"],
            "parameters": list(params),
            "responses": {"200": _json(anything, answer), **errors},
        }}  # fmt: skip

    def param(name: str, text: str, required: bool = False, many: bool = False) -> Any:
        schema = {"type": "array", "items": {"type": "string"}} if many else {"type": "string"}
        return {"name": name, "in": "query", "required": required, "schema": schema,
                "description": text}  # fmt: skip

    return {
        summary_api.SUMMARY_PATH: get(
            "readClusterSummary", "GPUs per accelerator class, jobs per phase, queue backlogs",
            "ClusterSummary: gpus {total, allocated, byClass}, nodes {total, fenced}, jobs "
            "{total, phases, waiting, holding}, queues {total, backlog}, oldestWaiting, time",
        ),
        summary_api.OCCUPANCY_PATH: get(
            "readNodeOccupancy", "Per node: GPU groups, place, fence, and who holds its GPUs",
            "NodeOccupancy: nodes [{name, place, gpus, cpu, memory, fenced, holders}], time",
            param("node", "Only these nodes (repeat the parameter)", many=True),
        ),
        cost_api.PATH: get(
            "readCostSummary", "Cost per hour now (total, allocated, idle) and month to date",
            "{currency, configured, time, hourly {total, allocated, idle}, monthToDate {start, "
            "end, total, byResource}, gpus {held, sampled, busy, sampleSeconds, byClass}}; "
            "{configured: false} without a cost source",
        ),
        storage_api.PATH: get(
            "readStorageSummary", "Checkpoint storage per policy and job; volumes and their cost",
            "StorageSummary: checkpoints {policies, checkpointedJobs, jobs}, volumes {volumes, "
            "bound, orphaned, hourlyCost} (null without a cost source), time",
        ),
        findings_api.PATH: get(
            "listFindings", "Money spent on nothing, with what to do and what it saves",
            "{time, window, total, monthlySavings, findings [{kind, subject, action, reason, "
            "monthlySavings, labels}], notChecked}; 404 without a cost source",
            param("window", "How far back to look (default 7d)"),
        ),
        allocation_api.PATH: get(
            "readAllocation", "Cost per label over a window, in OpenCost's shape",
            "{code, data: [set per step: {key: allocation}]}; 404 without a cost source",
            param("window", "7d, 24h, today, month, or START,END", required=True),
            param("aggregate", "Label names, comma-separated (default namespace)"),
            param("step", "A duration; one set per step"),
            param("includeIdle", "true or false"), param("shareIdle", "true or false"),
            param("accumulate", "true or false"), param("basis", "allocation or usage"),
        ),
    }


@functools.cache
def document() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(kind, "validation") for kind in registry.KINDS], ref_template=_REF
    )
    schemas: dict[str, Any] = _to_openapi30(defs.get("$defs", {}))
    for kind in registry.KINDS:
        schemas[kind.kind_name]["x-kubernetes-group-version-kind"] = [
            {"group": meta.API_GROUP, "version": meta.API_VERSION, "kind": kind.kind_name}
        ]
    schemas[STATUS_SCHEMA] = _status_schema()
    return {
        "openapi": "3.0.3",
        "info": {"title": "k8s4ai", "version": meta.GROUP_VERSION},
        "paths": {
            **_paths(),
            **_extension_paths(),
            **_view_paths(),
            **remediation_api.openapi_paths(
                {"default": _json(_ref(STATUS_SCHEMA), "A Status describing the failure")}
            ),
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"BearerToken": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"BearerToken": []}],
    }
