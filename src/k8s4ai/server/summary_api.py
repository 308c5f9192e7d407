"""`GET /api/v1/summary` and `GET /api/v1/occupancy`: the cluster at a glance and who holds
each node's GPUs, for dashboards (ours at /ui/, or anyone's script), read-authenticated like
every list. Both are computed from the watch cache once per change to the kinds they read
(see `summary` for what each number means) and shared by every caller until the next one.

    /api/v1/summary                      GPUs per class, jobs per phase, queue backlogs
    /api/v1/occupancy?node=a&node=b      per node: GPU groups, place, fence, holders

Each answer carries `metadata.resourceVersion` (the store's version it reflects, from which a
watch can start) and `time`, the server's clock when it answered, against which waiting
instants become ages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from k8s4ai.api import accelerator, gang, meta, node, queue, resource, topology
from k8s4ai.server import metrics, summary, watch_cache

SUMMARY_PATH = "/api/v1/summary"
OCCUPANCY_PATH = "/api/v1/occupancy"
SUMMARY_KINDS = ("Node", "GangSchedulingGroup", "Queue", "AcceleratorClass")
OCCUPANCY_KINDS = ("Node", "GangSchedulingGroup", "AcceleratorClass", "TopologyDomain")

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


def _typed(snapshot: watch_cache.Snapshot, cls: type[Any]) -> list[Any]:
    return [obj for obj in snapshot.items.values() if isinstance(obj, cls)]


def _classes(snapshot: watch_cache.Snapshot) -> dict[str, accelerator.AcceleratorClass]:
    return {c.metadata.name: c for c in _typed(snapshot, accelerator.AcceleratorClass)}


def _jobs(
    cache: watch_cache.WatchCache,
    gangs: watch_cache.Snapshot,
    classes: watch_cache.Snapshot,
) -> list[summary.JobFacts]:
    """Each gang's facts, recomputed only for gangs (or classes) that changed."""
    by_name = _classes(classes)

    def facts(obj: resource.Resource) -> summary.JobFacts:
        assert isinstance(obj, gang.GangSchedulingGroup)
        return summary.facts(obj, by_name)

    return [cache.per_object("summary-facts", g, facts, classes.changed)
            for g in gangs.items.values()]  # fmt: skip


def _summary(cache: watch_cache.WatchCache) -> Callable[[list[watch_cache.Snapshot]], Any]:
    def compute(snapshots: list[watch_cache.Snapshot]) -> dict[str, Any]:
        nodes, gangs, queues, classes = snapshots
        return summary.cluster(_typed(nodes, node.Node), _jobs(cache, gangs, classes),
                               _typed(queues, queue.Queue), _classes(classes))  # fmt: skip

    return compute


def _occupancy(
    cache: watch_cache.WatchCache, snapshots: list[watch_cache.Snapshot], names: list[str]
) -> list[dict[str, Any]]:
    """The named nodes' occupancy (every node's, in name order, when `names` is empty)."""
    nodes, gangs, classes, domains = snapshots
    by_name = {d.metadata.name: d for d in _typed(domains, topology.TopologyDomain)}

    def facts(obj: resource.Resource) -> dict[str, Any]:
        assert isinstance(obj, node.Node)
        return summary.node_facts(obj, by_name)

    chosen = ([nodes.items[("", n)] for n in dict.fromkeys(names) if ("", n) in nodes.items]
              if names else [nodes.items[key] for key in nodes.keys])  # fmt: skip
    described = [cache.per_object("node-facts", n, facts, domains.changed) for n in chosen]
    every = summary.occupancy(described, _jobs(cache, gangs, classes))
    return [every[n["name"]] for n in described]


def _document(kind: str, rv: int, now: datetime, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": meta.GROUP_VERSION,
        "kind": kind,
        "metadata": {"resourceVersion": str(rv)},
        "time": now.isoformat().replace("+00:00", "Z"),
        **body,
    }


async def summary_endpoint(
    cache: watch_cache.WatchCache, clock: Clock, request: Request
) -> Response:
    metrics.label(request, "GET", "summary")

    def build() -> dict[str, Any]:
        body, rv = cache.derived("summary", SUMMARY_KINDS, _summary(cache))
        return _document("ClusterSummary", rv, clock(), body)

    return JSONResponse(await run_in_threadpool(build))


async def occupancy_endpoint(
    cache: watch_cache.WatchCache, clock: Clock, request: Request
) -> Response:
    metrics.label(request, "GET", "occupancy")
    wanted = request.query_params.getlist("node")

    def every(snapshots: list[watch_cache.Snapshot]) -> bytes:
        found = _occupancy(cache, snapshots, [])
        return json.dumps(found, separators=(",", ":")).encode()

    def build() -> bytes:
        """All nodes: shared per change like the summary; named ones: computed for them."""
        if wanted:
            snapshots = [cache.snapshot(kind) for kind in OCCUPANCY_KINDS]
            rv = max(s.resource_version for s in snapshots)
            found = _occupancy(cache, snapshots, wanted)
            encoded = json.dumps(found, separators=(",", ":")).encode()
        else:
            encoded, rv = cache.derived("occupancy", OCCUPANCY_KINDS, every)
        head = json.dumps(_document("NodeOccupancy", rv, clock(), {}), separators=(",", ":"))
        return head[:-1].encode() + b',"nodes":' + encoded + b"}"

    return Response(await run_in_threadpool(build), media_type="application/json")
