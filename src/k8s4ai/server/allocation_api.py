"""`GET /api/v1/allocation`: cost per label over a window, in OpenCost's query and answer shape,
so its clients (dashboards, scripts, `kubectl cost`-style tools) read k8s4ai's costs.

    /api/v1/allocation?window=7d&aggregate=team,experiment&step=1d&includeIdle=true
                       &shareIdle=false&accumulate=false&basis=allocation

The answer is `{"code": 200, "data": [set, ...]}`, one set per step, each a map from the
aggregation key to an allocation with OpenCost's field names. It differs from OpenCost where
k8s4ai knows less or more: `start`/`end` are the step's (the ledger is not asked when each line
was first and last active), there are no network, load-balancer or shared costs, `basis` may
be `usage`, and every set's lines (with the idle line) add up to its bill to the cent. The
report is computed from whatever `view.CostSource` the server was given, off the event loop.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from k8s4ai.finops import allocation, pricing, records, view
from k8s4ai.server import cost_views, metrics, status

PATH = "/api/v1/allocation"
DEFAULT_AGGREGATE: tuple[str, ...] = ("namespace",)
"""OpenCost's UI asks for namespaces when nothing else is said."""
MAX_STEPS = 1000
"""Each step prices the whole ledger again; a month in seconds must not tie up the server."""

_FIELDS: Mapping[pricing.ResourceKind, str] = {
    pricing.ResourceKind.CPU: "cpuCost",
    pricing.ResourceKind.GPU: "gpuCost",
    pricing.ResourceKind.MEMORY: "ramCost",
    pricing.ResourceKind.STORAGE: "pvCost",
}
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})
_NAMED = frozenset({"today", "yesterday", "week", "lastweek", "month", "lastmonth"})


@dataclass(frozen=True, slots=True)
class Query:
    window: str
    """Resolved against the view's `now`, which is only known once the view is built."""
    aggregate: tuple[str, ...]
    step: float | None
    include_idle: bool
    share_idle: bool
    accumulate: bool
    basis: allocation.Basis


def parse_query(params: Mapping[str, str]) -> Query:
    """Every parameter but the window's meaning, checked before any cost is computed; an
    error names the parameter, as a 400."""
    window = params.get("window", "").strip()
    if not window:
        raise status.bad_request("window: required, e.g. 7d, 24h, today or START,END (RFC 3339)")
    aggregate = DEFAULT_AGGREGATE
    if "aggregate" in params:
        names = [n.strip().removeprefix("label:") for n in params["aggregate"].split(",")]
        if not all(names):
            raise status.bad_request(
                f"aggregate: {params['aggregate']!r} has an empty label name; "
                "use e.g. team,experiment"
            )
        aggregate = tuple(dict.fromkeys(names))
    try:
        basis = allocation.Basis(params.get("basis", allocation.Basis.ALLOCATION))
    except ValueError:
        valid = ", ".join(b.value for b in allocation.Basis)
        raise status.bad_request(f"basis: {params['basis']!r} is not one of {valid}") from None
    return Query(
        window=window,
        aggregate=aggregate,
        step=_step(params["step"]) if params.get("step") else None,
        include_idle=_flag(params, "includeIdle", False),
        share_idle=_flag(params, "shareIdle", False),
        accumulate=_flag(params, "accumulate", False),
        basis=basis,
    )


def resolve_window(text: str, now: float) -> allocation.Window:
    """OpenCost's window forms: a duration ending now, `START,END` (RFC 3339 or epoch
    seconds), or a calendar word (UTC; weeks start on Monday, as budget periods do)."""
    word = text.lower()
    try:
        window = _named(word, now) if word in _NAMED else records.parse_window(text, now)
        for edge in (window.start, window.end):
            rfc3339(edge)  # the answer has to be able to say when it starts and ends
    except (ValueError, OverflowError, OSError) as err:
        raise status.bad_request(f"window: {err}") from None
    return window


def steps(window: allocation.Window, step: float | None) -> list[allocation.Window]:
    """Consecutive sets from the window's start; the last is cut at the window's end."""
    if step is None:
        return [window]
    count = math.ceil((window.end - window.start) / step)
    if count > MAX_STEPS:
        raise status.bad_request(
            f"step: {step:g}s over a {window.end - window.start:g}s window makes {count} sets; "
            f"at most {MAX_STEPS}"
        )
    edges = [window.start + i * step for i in range(count)] + [window.end]
    return [allocation.Window(a, b) for a, b in itertools.pairwise(edges) if b > a]


def allocation_set(report: allocation.Report, include_idle: bool) -> dict[str, Any]:
    """One step's allocations keyed as OpenCost keys them: the key's values joined by `/`."""
    found: dict[str, Any] = {}
    idle = report.idle_key(len(report.aggregate))
    for line in report.lines:
        if line.key == idle and not include_idle:
            continue
        name = allocation.IDLE if line.key == idle else "/".join(line.key)
        found[name] = _allocation(name, line, report, line.key == idle)
    return found


async def endpoint(
    source: view.CostSource | None, memo: cost_views.PerView, request: Request
) -> Response:
    """Answers are kept per query while the source hands out the same view (`cost_views`)."""
    metrics.label(request, "GET", "allocation")
    cost_views.require(source)
    query = parse_query(request.query_params)
    current = await cost_views.current(source)
    window = resolve_window(query.window, current.now)
    sets = steps(window, None if query.accumulate else query.step)
    def answer() -> bytes:
        body = JSONResponse({"code": 200, "data": _compute(current, query, sets)}).body
        return bytes(body)

    key = ("allocation", query, tuple(sets))
    return Response(await run_in_threadpool(memo.get, current, key, answer),
                    media_type="application/json")


def _compute(
    current: view.CostView, query: Query, sets: list[allocation.Window]
) -> list[dict[str, Any]]:
    try:
        return [
            allocation_set(
                allocation.allocate(
                    current.ledger, current.prices, window, query.aggregate, query.share_idle,
                    query.basis, current.samples,
                ),
                query.include_idle,
            )
            for window in sets
        ]
    except KeyError as err:  # an unpriced resource: the ledger and its prices disagree
        raise status.ApiError(500, f"cannot price the ledger: {err.args[0]}") from None


def _allocation(
    name: str, line: allocation.Line, report: allocation.Report, idle: bool
) -> dict[str, Any]:
    start, end = rfc3339(report.window.start), rfc3339(report.window.end)
    labels = {
        label: value for label, value in zip(report.aggregate, line.key, strict=True)
        if not idle and value != allocation.UNALLOCATED
    }
    properties: dict[str, Any] = {"labels": labels}
    if "namespace" in labels:
        properties["namespace"] = labels["namespace"]
    return {
        "name": name,
        "properties": properties,
        "window": {"start": start, "end": end},
        "start": start,
        "end": end,
        "minutes": (report.window.end - report.window.start) / 60,
        **{_FIELDS[kind]: line.cost(kind) / 100 for kind in allocation.KINDS},
        "totalCost": line.total / 100,
    }


def _flag(params: Mapping[str, str], name: str, default: bool) -> bool:
    text = params.get(name, "").strip().lower()
    if not text:
        return default
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise status.bad_request(f"{name}: expected true or false, got {params[name]!r}")


def _step(text: str) -> float:
    try:
        if "," in text:
            raise ValueError
        window = records.parse_window(text, 0.0)
    except ValueError:
        raise status.bad_request(
            f"step: {text!r} is not a positive duration (e.g. 30m, 1h, 1d)"
        ) from None
    return window.end - window.start


def _named(word: str, now: float) -> allocation.Window:
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    month = day.replace(day=1)
    previous_month = (month - timedelta(days=1)).replace(day=1)
    start, end = {
        "today": (day, moment),
        "yesterday": (day - timedelta(days=1), day),
        "week": (week, moment),
        "lastweek": (week - timedelta(days=7), week),
        "month": (month, moment),
        "lastmonth": (previous_month, month),
    }[word]
    return allocation.Window(start.timestamp(), end.timestamp())


def rfc3339(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.isoformat(timespec="seconds" if moment.microsecond == 0 else "milliseconds")
    return text.replace("+00:00", "Z")
