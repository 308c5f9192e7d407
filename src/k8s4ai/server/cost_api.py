"""`GET /api/v1/cost`: what everything costs per hour now (held and idle) and the bill of the
calendar month so far, the two figures a dashboard headlines, without parsing 3 MB of
`/metrics` or pricing a month per line.

    {"currency": "USD", "configured": true, "time": ..., "hourly": {"total", "allocated", "idle"},
     "monthToDate": {"start", "end", "total", "byResource"},
     "gpus": {"held", "sampled", "busy", "sampleSeconds", "byClass"}}

`hourly.total` is the price of every asset that exists at the view's `now` (GPUs, CPU,
memory, volumes), `allocated` what owners hold of it, `idle` the rest: the same sums as the
`k8s4ai_allocation_hourly_cost_dollars` and `k8s4ai_idle_hourly_cost_dollars` families on
`/metrics`. `monthToDate.total` is the bill of `/api/v1/allocation?window=month`.
`gpus` says how busy the GPUs held now are, from the cost view's utilisation samples (DCGM
on a real cluster; `k8s4ai up` simulates them, see `controllers.cost_ledger.samples`).

Answers computed from one cost view are kept while the cost source hands out that same view
(the live plane shares one for up to 5 s while the store is unchanged), so a dashboard's
calls and its redraws price the ledger once. A server without a cost source answers
`{"configured": false}` (200: a client asks here first, and only then for reports that would
be 404).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from k8s4ai.finops import allocation, pricing, view
from k8s4ai.server import allocation_api, cost_metrics, cost_views, metrics, status

PATH = "/api/v1/cost"
BUSY_SAMPLE_SECONDS = 600.0
"""How recent a utilisation sample must be to say how busy a GPU is now."""


def hourly(current: view.CostView) -> dict[str, float]:
    """Dollars per hour at the view's `now`: every asset, what owners hold, and the rest."""
    total = sum(amount * price for _, amount, price, _ in
                cost_metrics.held_now(current.ledger.assets, current.prices, current.now))
    held = sum(amount * price for _, amount, price, _ in
               cost_metrics.held_now(current.ledger.allocations, current.prices, current.now))
    return {"total": total, "allocated": held, "idle": total - held}


def month_to_date(current: view.CostView) -> dict[str, Any]:
    """The bill from the start of the calendar month (UTC), in total and per resource."""
    try:
        window = allocation_api.resolve_window("month", current.now)
    except status.ApiError:  # the very first instant of a month: nothing billed yet
        window = None
    if window is None:
        bill = tuple(0 for _ in allocation.KINDS)
        start = end = allocation_api.rfc3339(current.now)
    else:
        bill = allocation.allocate(current.ledger, current.prices, window, ("namespace",),
                                   samples=current.samples).bill  # fmt: skip
        start, end = allocation_api.rfc3339(window.start), allocation_api.rfc3339(window.end)
    return {
        "start": start, "end": end, "total": sum(bill) / 100,
        "byResource": {kind.value: cents / 100 for kind, cents in zip(allocation.KINDS, bill,
                                                                       strict=True)},
    }  # fmt: skip


def busy(current: view.CostView) -> dict[str, Any]:
    """GPUs held now and how busy they are: each GPU allocation held at `now` counts its
    amount × the engine activity of its latest utilisation sample in the last
    `BUSY_SAMPLE_SECONDS` (rows without one count as held, not as busy or idle)."""
    now, held = current.now, current.ledger.allocations
    gpu = np.array([r.kind is pricing.ResourceKind.GPU for r in held.rates], dtype=bool)
    rows = np.flatnonzero(gpu[held.rate] & (held.start <= now) & (held.end >= now))
    samples = current.samples
    recent = np.flatnonzero((samples.time >= now - BUSY_SAMPLE_SECONDS) & (samples.time <= now))
    latest: dict[int, float] = {}
    for i in recent[np.argsort(samples.time[recent], kind="stable")]:
        latest[int(samples.row[i])] = float(samples.engine_active[i])
    by_class: dict[str, dict[str, float]] = {}
    for row in rows:
        sku = held.rates[held.rate[row]].sku
        line = by_class.setdefault(sku, {"held": 0.0, "sampled": 0.0, "busy": 0.0})
        amount = float(held.amount[row])
        line["held"] += amount
        if int(row) in latest:
            line["sampled"] += amount
            line["busy"] += amount * latest[int(row)]
    totals = {k: sum(line[k] for line in by_class.values()) for k in ("held", "sampled", "busy")}
    return {**totals, "sampleSeconds": BUSY_SAMPLE_SECONDS,
            "byClass": [{"name": name, **by_class[name]} for name in sorted(by_class)]}


def summary(current: view.CostView) -> dict[str, Any]:
    return {
        "currency": "USD",
        "configured": True,
        "time": allocation_api.rfc3339(current.now),
        "hourly": hourly(current),
        "monthToDate": month_to_date(current),
        "gpus": busy(current),
    }


async def endpoint(
    source: view.CostSource | None, memo: cost_views.PerView, request: Request
) -> Response:
    metrics.label(request, "GET", "cost")
    if source is None:
        return JSONResponse({"currency": "USD", "configured": False})
    current = await cost_views.current(source)
    try:
        body = await run_in_threadpool(memo.get, current, "summary", lambda: summary(current))
    except KeyError as err:  # an unpriced resource: the ledger and its prices disagree
        raise status.ApiError(500, f"cannot price the ledger: {err.args[0]}") from None
    return JSONResponse(body)
