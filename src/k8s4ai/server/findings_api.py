"""`GET /api/v1/findings?window=7d`: money spent on nothing (`finops.findings`) in the live
plane, each with what to do and what it saves per month, read-authenticated.

The findings see what the server has: the cost view's ledger, prices and utilisation samples,
and the AcceleratorClasses and CheckpointPolicies of the store. Idle GPUs (from the samples;
`k8s4ai up` simulates them) and orphaned volumes (from the ledger's volumes) are checked. Three
kinds need inputs the live plane does not collect yet and are listed under `notChecked`:
over-provisioned endpoints (load points per replica), checkpoint bloat (the checkpoints each
job keeps) and cold premium storage (when each volume was last read).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from k8s4ai.api import accelerator, checkpoint
from k8s4ai.finops import findings, view
from k8s4ai.server import allocation_api, cost_views, metrics, status, watch_cache

PATH = "/api/v1/findings"
DEFAULT_WINDOW = "7d"
"""Kubecost's savings look back a week too."""
NOT_CHECKED = {
    findings.Kind.OVERPROVISIONED_ENDPOINT: "needs measured load points per replica",
    findings.Kind.CHECKPOINT_BLOAT: "needs the checkpoints each job keeps",
    findings.Kind.COLD_PREMIUM_STORAGE: "needs when each volume was last read",
}


def _objects(snapshots: list[watch_cache.Snapshot]) -> tuple[dict[str, Any], dict[str, Any]]:
    classes, policies = snapshots
    return (
        {c.metadata.name: c for c in classes.items.values()
         if isinstance(c, accelerator.AcceleratorClass)},
        {p.metadata.name: p for p in policies.items.values()
         if isinstance(p, checkpoint.CheckpointPolicy)},
    )  # fmt: skip


def report(
    current: view.CostView, window: str, classes: dict[str, Any], policies: dict[str, Any]
) -> dict[str, Any]:
    span = allocation_api.resolve_window(window, current.now)
    scene = findings.Scene(current.ledger, current.prices, span, current.samples,
                           classes=classes, policies=policies)  # fmt: skip
    found = findings.find(scene)
    return {
        "window": {"start": allocation_api.rfc3339(span.start),
                   "end": allocation_api.rfc3339(span.end)},
        "total": len(found),
        "monthlySavings": sum(f.monthly_savings for f in found) / 100,
        "findings": [{
            "kind": f.kind.value, "subject": f.subject, "action": f.action.value,
            "reason": f.reason, "monthlySavings": f.monthly_savings / 100,
            "labels": dict(f.labels),
        } for f in found],
        "notChecked": [{"kind": k.value, "why": why} for k, why in NOT_CHECKED.items()],
    }  # fmt: skip


async def endpoint(
    cache: watch_cache.WatchCache,
    source: view.CostSource | None,
    memo: cost_views.PerView,
    request: Request,
) -> Response:
    metrics.label(request, "GET", "findings")
    cost_views.require(source)
    window = request.query_params.get("window", DEFAULT_WINDOW)
    current = await cost_views.current(source)
    (classes, policies), _ = await run_in_threadpool(
        cache.derived, "findings-objects", ("AcceleratorClass", "CheckpointPolicy"), _objects
    )
    try:
        body = await run_in_threadpool(
            memo.get, current, ("findings", window),
            lambda: report(current, window, classes, policies),
        )
    except KeyError as err:  # an unpriced resource: the ledger and its prices disagree
        raise status.ApiError(500, f"cannot price the ledger: {err.args[0]}") from None
    return JSONResponse({"time": allocation_api.rfc3339(current.now), **body})
