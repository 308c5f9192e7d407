"""`GET /api/v1/storage`: checkpoint storage per policy and per job, from the objects (watch
cache), and the volumes the cost ledger prices, bound or orphaned, with what storage costs;
read-authenticated like every list. See `storage` for what each figure means. Without a cost
source `volumes` is null: the objects alone do not say what volumes exist."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from k8s4ai.api import checkpoint, gang, meta
from k8s4ai.finops import view
from k8s4ai.server import cost_views, metrics, status, storage, summary_api, watch_cache

PATH = "/api/v1/storage"
KINDS = ("CheckpointPolicy", "GangSchedulingGroup")


def _checkpoints(snapshots: list[watch_cache.Snapshot]) -> dict[str, Any]:
    policies, gangs = snapshots
    return storage.checkpoints(
        [p for p in policies.items.values() if isinstance(p, checkpoint.CheckpointPolicy)],
        [g for g in gangs.items.values() if isinstance(g, gang.GangSchedulingGroup)],
    )


async def endpoint(
    cache: watch_cache.WatchCache,
    source: view.CostSource | None,
    memo: cost_views.PerView,
    clock: summary_api.Clock,
    request: Request,
) -> Response:
    metrics.label(request, "GET", "storage")
    found, rv = await run_in_threadpool(cache.derived, "storage", KINDS, _checkpoints)
    volumes = None
    if source is not None:
        current = await cost_views.current(source)
        try:
            volumes = await run_in_threadpool(
                memo.get, current, "volumes", lambda: storage.volumes(current)
            )
        except KeyError as err:  # an unpriced resource: the ledger and its prices disagree
            raise status.ApiError(500, f"cannot price the ledger: {err.args[0]}") from None
    return JSONResponse({
        "apiVersion": meta.GROUP_VERSION, "kind": "StorageSummary",
        "metadata": {"resourceVersion": str(rv)},
        "time": clock().isoformat().replace("+00:00", "Z"),
        "checkpoints": found, "volumes": volumes,
    })  # fmt: skip
