"""Cost as Prometheus metrics on the server's `/metrics`, named as OpenCost names them so its
Grafana dashboards and PromQL (`sum(node_total_hourly_cost) * 730`, a namespace's
`container_gpu_allocation` × `node_gpu_hourly_cost`) work on k8s4ai unchanged.

Everything is a gauge of what holds at the view's `now` (open intervals end there): prices per
unit-hour of what exists (the ledger's assets, by their `node` or `volume` label) and amounts
held (its allocations, by owner labels). Two differences from OpenCost: there is no `instance`
label (it clashes with Prometheus' own; OpenCost is dropping it for `node` too), and
allocations carry k8s4ai's owner labels instead of pod and container, with `job` exported as
`job_name` because Prometheus owns `job`. Beside them, k8s4ai's own: the hourly cost of what
each owner holds and of what nobody holds (idle), per priced resource, and whether the cost
source answered.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator

import numpy as np
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from k8s4ai.finops import ledger, pricing, view
from k8s4ai.server import metrics

log = logging.getLogger(__name__)

GIB = float(1 << 30)
OWNER_LABELS = ("namespace", "node", "queue", "team", "project", "experiment", "model", "job")
"""Ledger labels exported on allocation metrics (missing ones as "")."""
_EXPORTED = {"job": "job_name"}
ALLOCATION_LABELS = tuple(_EXPORTED.get(n, n) for n in OWNER_LABELS)

_NODE_PRICE = {
    pricing.ResourceKind.GPU: ("node_gpu_hourly_cost", "Hourly cost per GPU on this node."),
    pricing.ResourceKind.CPU: ("node_cpu_hourly_cost", "Hourly cost per CPU core on this node."),
    pricing.ResourceKind.MEMORY: ("node_ram_hourly_cost", "Hourly cost per GiB of memory on "
                                  "this node."),
}
_HELD = {
    pricing.ResourceKind.GPU: ("container_gpu_allocation", "GPUs held (a MIG slice or share "
                               "as its fraction of a GPU).", 1.0),
    pricing.ResourceKind.CPU: ("container_cpu_allocation", "CPU cores held.", 1.0),
    pricing.ResourceKind.MEMORY: ("container_memory_allocation_bytes", "Memory held, in bytes.",
                                  GIB),
}


def families(current: view.CostView) -> list[Metric]:
    """The cost families at `current.now`, one sample per distinct label set."""
    now, prices = current.now, current.prices
    node_price: dict[tuple[pricing.ResourceKind, str, str], float] = {}
    gpus: dict[tuple[str, str], float] = defaultdict(float)
    node_total: dict[str, float] = defaultdict(float)
    volume_price: dict[tuple[str, str], float] = {}
    idle: dict[str, float] = defaultdict(float)
    for rate, amount, price, labels in held_now(current.ledger.assets, prices, now):
        node, resource = labels.get("node", ""), str(rate)
        idle[resource] += amount * price
        if rate.kind is pricing.ResourceKind.STORAGE:
            volume_price[(labels.get("volume", ""), resource)] = price
            continue
        node_price[(rate.kind, node, resource)] = price
        node_total[node] += amount * price
        if rate.kind is pricing.ResourceKind.GPU:
            gpus[(node, resource)] += amount

    held: dict[tuple[pricing.ResourceKind, tuple[str, ...]], float] = defaultdict(float)
    owner_cost: dict[tuple[str, ...], float] = defaultdict(float)
    for rate, amount, price, labels in held_now(current.ledger.allocations, prices, now):
        owner = tuple(labels.get(n, "") for n in OWNER_LABELS)
        held[(rate.kind, owner)] += amount
        owner_cost[(*owner, str(rate))] += amount * price
        idle[str(rate)] -= amount * price

    found: list[Metric] = []
    for kind, (name, text) in _NODE_PRICE.items():
        found.append(_gauge(name, text, ("node", "resource"),
                            (((n, r), p) for (k, n, r), p in node_price.items() if k is kind)))
    found += [
        _gauge("node_gpu_count", "GPUs on this node.", ("node", "resource"), gpus.items()),
        _gauge("node_total_hourly_cost", "Hourly cost of this node's GPUs, CPU and memory.",
               ("node",), (((n,), c) for n, c in node_total.items())),
        _gauge("pv_hourly_cost", "Hourly cost per GB of this volume.",
               ("persistentvolume", "volumename", "resource"),
               (((v, v, r), p) for (v, r), p in volume_price.items())),
    ]
    for kind, (name, text, scale) in _HELD.items():
        found.append(_gauge(name, text, ALLOCATION_LABELS,
                            ((o, a * scale) for (k, o), a in held.items() if k is kind)))
    found += [
        _gauge("k8s4ai_allocation_hourly_cost_dollars",
               "What each owner holds now costs per hour, by priced resource.",
               (*ALLOCATION_LABELS, "resource"), owner_cost.items()),
        _gauge("k8s4ai_idle_hourly_cost_dollars",
               "What exists and nobody holds costs per hour (negative if over-allocated).",
               ("resource",), (((r,), c) for r, c in idle.items())),
    ]
    return found


class CostCollector(metrics.RefreshedCollector):
    """Asks the cost source at each scrape; if it fails, the scrape goes on without cost
    samples (stale ones would read as current) and `k8s4ai_cost_source_up` says 0."""

    def __init__(self, source: view.CostSource) -> None:
        self._source = source
        self._families: list[Metric] = [_up(0.0)]

    def refresh(self) -> None:
        try:
            self._families = [*families(self._source()), _up(1.0)]
        except Exception:  # any failure of the source or its data; the scrape must go on
            log.exception("cost metrics skipped: the cost source failed")
            self._families = [_up(0.0)]

    def describe(self) -> Iterable[Metric]:
        return []  # the names depend on nothing registered elsewhere; skip collision checks

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def held_now(
    intervals: ledger.Intervals, prices: pricing.PriceBook, now: float
) -> Iterator[tuple[pricing.RateKey, float, float, dict[str, str]]]:
    """The rows held at `now` (a handful beside the history, so row by row is fine): each
    with its rate, amount, price per unit-hour at `now` and labels."""
    rate_price = [prices.schedule(r).at(now) for r in intervals.rates]
    for row in np.flatnonzero((intervals.start <= now) & (intervals.end >= now)):
        code = int(intervals.rate[row])
        yield (intervals.rates[code], float(intervals.amount[row]), rate_price[code],
               intervals.labels_of(int(row)))


def _gauge(
    name: str, text: str, labels: tuple[str, ...],
    samples: Iterable[tuple[tuple[str, ...], float]],
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text, labels=list(labels))
    for values, value in samples:
        family.add_metric(list(values), value)
    return family


def _up(value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "k8s4ai_cost_source_up", "1 if the cost source answered at the last scrape.", value
    )
