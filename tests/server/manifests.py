"""Request bodies and paths for server tests, so each test states only what it is about.

Queue (cluster-scoped) and CheckpointPolicy (namespaced) are used because neither refers to
another object, so no setup is needed before creating them."""

from __future__ import annotations

import json
from typing import Any

import httpx

from k8s4ai.api import meta

PREFIX = f"/apis/{meta.GROUP_VERSION}"


def path(
    plural: str, name: str | None = None, namespace: str | None = None, sub: str | None = None
) -> str:
    out = f"{PREFIX}/namespaces/{namespace}/{plural}" if namespace else f"{PREFIX}/{plural}"
    if name:
        out += f"/{name}"
    if sub:
        out += f"/{sub}"
    return out


def queue(name: str, *, weight: float = 1.0, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": meta.GROUP_VERSION,
        "kind": "Queue",
        "metadata": {"name": name, **metadata},
        "spec": {"weight": weight},
    }


def policy(
    name: str, namespace: str | None = "default", *, retention: int = 3, **metadata: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, **metadata}
    if namespace is not None:
        data["namespace"] = namespace
    return {
        "apiVersion": meta.GROUP_VERSION,
        "kind": "CheckpointPolicy",
        "metadata": data,
        "spec": {"storage": {"uri": f"s3://ckpt/{name}"}, "retention": retention},
    }


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def watch_lines(
    api: httpx.Client, url: str, count: int | None = None, **params: Any
) -> list[dict[str, Any]]:
    """Events from a watch, until `count` arrived or the server ended the stream (pass
    timeoutSeconds for that)."""
    events: list[dict[str, Any]] = []
    with api.stream("GET", url, params={"watch": "1", **params}, timeout=30.0) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.strip():
                events.append(json.loads(line))
            if count is not None and len(events) >= count:
                break
    return events


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(e["type"], e["object"]["metadata"]["name"], rv(e["object"])) for e in events]


def causes(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    return {c["field"]: c["message"] for c in body.get("details", {}).get("causes", [])}


def merge_patch(api: httpx.Client, url: str, body: object) -> httpx.Response:
    return api.patch(
        url, content=json.dumps(body), headers={"Content-Type": "application/merge-patch+json"}
    )
