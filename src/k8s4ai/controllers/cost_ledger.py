"""The live plane's cost ledger: what the store's nodes offered and its jobs and services held,
as intervals, merged with the intervals already closed (kept by `cost_controller` in a file,
since a preempted or deleted job's run is no longer in any status), priced and sampled into a
`CostView`.

Each record belongs to a series (`key`): one node's GPUs of one class, one pod set's GPUs on one
market, one service's replicas. A series runs in segments; the open segment comes from the
status, closed ones from the journal, and the open one never starts before its series' last
closed segment ended, so a status that still shows a run the journal already closed (or a run
closed and read again after a restart) is not counted twice.
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import numpy as np

from k8s4ai.api import accelerator, gang, inference, node, resource, workload
from k8s4ai.controllers import admission_state
from k8s4ai.finops import ledger, pricing, records, tco, utilisation, view

log = logging.getLogger(__name__)

SPOT_LABELS: Mapping[str, str] = {
    "karpenter.sh/capacity-type": "spot",
    "cloud.google.com/gke-spot": "true",
    "eks.amazonaws.com/capacityType": "SPOT",
}
"""Node labels that say a node is spot capacity (Karpenter, GKE, EKS); any other node is
on-demand."""
CPU_MEMORY_PRICES: Mapping[pricing.RateKey, float] = {
    pricing.RateKey(pricing.ResourceKind.CPU): 0.031611,
    pricing.RateKey(pricing.ResourceKind.CPU, market=pricing.Market.SPOT): 0.006655,
    pricing.RateKey(pricing.ResourceKind.MEMORY): 0.004237,
    pricing.RateKey(pricing.ResourceKind.MEMORY, market=pricing.Market.SPOT): 0.000892,
}
"""$/core-hour and $/GiB-hour: OpenCost's defaults (its `configs/default.json`), since an
AcceleratorClass prices only its GPUs; an imported price file overrides them."""
STORAGE_PRICE = 0.04
"""$/GB-month of a storage class no price file prices: OpenCost's default (0.00005479452
$/GB-hour in its `configs/default.json`)."""
SAMPLE_SECONDS = 300.0

Kind = Literal["allocation", "asset"]


@dataclass(frozen=True, slots=True)
class Record:
    """One segment of a series: `amount` of `rate` from `start`, to `end` (None: still open)."""

    key: str
    record: Kind
    rate: pricing.RateKey
    amount: float
    start: float
    end: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    owner: str = ""
    """The uid of the object the series belongs to."""

    def to_json(self) -> dict[str, Any]:
        """The `finops.records` JSON record, plus the series key and owner."""
        return {
            "record": self.record, "start": self.start, "end": self.end,
            "resource": str(self.rate), "amount": self.amount, "labels": dict(self.labels),
            "key": self.key, "owner": self.owner,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        kind = data["record"]
        if kind not in ("allocation", "asset"):
            raise ValueError(f"{kind!r}: expected allocation or asset")
        end = data.get("end")
        return cls(
            str(data["key"]), kind, records.parse_rate(str(data["resource"])),
            float(data["amount"]), records.parse_time(str(data["start"])),
            None if end is None else records.parse_time(str(end)),
            {str(k): str(v) for k, v in (data.get("labels") or {}).items()},
            str(data.get("owner", "")),
        )


def _seconds(moment: datetime | None) -> float | None:
    return None if moment is None else float(moment.timestamp())


def market(n: node.Node) -> pricing.Market:
    labels = n.metadata.labels
    spot = any(labels.get(k) == v for k, v in SPOT_LABELS.items())
    return pricing.Market.SPOT if spot else pricing.Market.ON_DEMAND


def gpu_amount(res: workload.PodResources, accel: accelerator.AcceleratorClass) -> float:
    """What one pod holds of a GPU, as admission reserves it: whole GPUs, a MIG slice's share
    of the compute slices, or the larger of a fraction and its VRAM's share."""
    if res.mig_profile is not None:
        return ledger.mig_fraction(accel, res.mig_profile)
    if res.gpus >= 1:
        return float(res.gpus)
    share = float(res.gpus)
    if res.vram is not None:
        share = max(share, ledger.vram_fraction(accel, res.vram))
    return share


def holdings(
    objs: Iterable[resource.Resource], now: float, opened: Mapping[str, float] | None = None
) -> list[Record]:
    """The segments the objects' statuses show at `now`: open ones, and finished jobs' closed
    ones. `opened` says since when a series has been seen open, for what no status dates
    (a service's ready replicas); those unseen start `now`."""
    objs = list(objs)
    classes = {o.metadata.name: o for o in objs if isinstance(o, accelerator.AcceleratorClass)}
    nodes = {o.metadata.name: o for o in objs if isinstance(o, node.Node)}
    out: list[Record] = []
    for n in nodes.values():
        out.extend(node_assets(n))
    for o in objs:
        try:
            if isinstance(o, gang.GangSchedulingGroup):
                out.extend(_gang(o, classes, nodes))
            elif isinstance(o, inference.InferenceService):
                out.extend(_service(o, classes, now, opened or {}))
        except ValueError as err:
            log.warning("%s %s is left out of the cost ledger: %s", o.kind_name, o.key, err)
    return out


def node_assets(n: node.Node) -> list[Record]:
    """What a node offers from its creation on, one series per priced resource: its GPUs of
    each class, its cores and memory, on its market."""
    start = _seconds(n.metadata.creation_timestamp)
    if start is None:
        return []
    how = market(n)
    uid = n.metadata.uid or n.metadata.name
    labels = {"node": n.metadata.name}
    gpus: dict[str, float] = {}
    for group in n.spec.gpus:
        gpus[group.accelerator_class] = gpus.get(group.accelerator_class, 0) + group.count
    amounts = {pricing.RateKey(pricing.ResourceKind.GPU, c, how): a for c, a in gpus.items()}
    amounts[pricing.RateKey(pricing.ResourceKind.CPU, market=how)] = n.spec.cpu.cores
    amounts[pricing.RateKey(pricing.ResourceKind.MEMORY, market=how)] = n.spec.memory.gib
    return [
        Record(f"node/{uid}/{rate}", "asset", rate, amount, start, None, labels, uid)
        for rate, amount in amounts.items()
    ]


def _gang(
    g: gang.GangSchedulingGroup,
    classes: Mapping[str, accelerator.AcceleratorClass],
    nodes: Mapping[str, node.Node],
) -> list[Record]:
    start = _seconds(g.status.start_time)
    phase = g.status.phase
    if start is None or phase not in (*admission_state.HOLDING, *admission_state.FINISHED):
        return []
    end = _seconds(g.status.completion_time) if phase in admission_state.FINISHED else None
    if phase in admission_state.FINISHED and end is None:
        return []
    uid = g.metadata.uid or g.key[2]
    labels = {
        **g.metadata.labels,
        "namespace": g.metadata.namespace or "",
        "queue": g.status.queue or g.spec.queue,
        "job": g.metadata.name,
    }
    placed = {a.name: a for a in g.status.assignments}
    out: list[Record] = []
    for pod_set in g.spec.pod_sets:
        assignment = placed.get(pod_set.name)
        if assignment is None and phase in admission_state.HOLDING:
            continue
        where = assignment.nodes if assignment else []
        cls = (assignment.accelerator_class if assignment else None) or (
            pod_set.resources.accelerator_class
        )
        amounts: dict[pricing.RateKey, float] = {}
        for index in range(pod_set.count):
            host = nodes.get(where[index]) if index < len(where) else None
            how = market(host) if host is not None else pricing.Market.ON_DEMAND
            _add_pod(amounts, pod_set.resources, classes.get(cls or ""), how)
        out.extend(
            Record(f"gang/{uid}/{pod_set.name}/{rate}", "allocation", rate, amount, start, end,
                   labels, uid)
            for rate, amount in amounts.items()
        )
    return out


def _add_pod(
    amounts: dict[pricing.RateKey, float],
    res: workload.PodResources,
    accel: accelerator.AcceleratorClass | None,
    how: pricing.Market,
    times: float = 1.0,
) -> None:
    parts = [
        (pricing.RateKey(pricing.ResourceKind.CPU, market=how), res.cpu.cores),
        (pricing.RateKey(pricing.ResourceKind.MEMORY, market=how), res.memory.gib),
    ]
    if res.wants_gpu:
        if accel is None:
            raise ValueError("its GPUs have no AcceleratorClass to price them by")
        gpu = pricing.RateKey(pricing.ResourceKind.GPU, accel.metadata.name, how)
        parts.append((gpu, gpu_amount(res, accel)))
    for rate, amount in parts:
        amounts[rate] = amounts.get(rate, 0.0) + amount * times


def _service(
    s: inference.InferenceService,
    classes: Mapping[str, accelerator.AcceleratorClass],
    now: float,
    opened: Mapping[str, float],
) -> list[Record]:
    """Ready replicas hold their resources (replicas are not placed on nodes, so on-demand),
    one series per replica, so that a replica's GPU rows are its replica-hours (`finops.tco`)
    and scaling down closes only the replicas that went. The `model` label is the service's
    own when it has one (the name its training jobs are labelled with), else its spec's."""
    ready = s.status.ready_replicas
    if ready <= 0:
        return []
    uid = s.metadata.uid or s.key[2]
    labels = {
        "model": s.spec.model,
        **s.metadata.labels,
        "namespace": s.metadata.namespace or "",
        tco.SERVICE: s.metadata.name,
        **({"queue": s.spec.queue} if s.spec.queue else {}),
    }
    res = s.spec.resources
    amounts: dict[pricing.RateKey, float] = {}
    _add_pod(amounts, res, classes.get(res.accelerator_class or ""), pricing.Market.ON_DEMAND, 1)
    out = []
    for replica in range(ready):
        for rate, amount in amounts.items():
            key = f"service/{uid}/{replica}/{rate}"
            out.append(Record(key, "allocation", rate, amount, opened.get(key, now), None,
                              labels, uid))
    return out


def merge(closed: Sequence[Record], current: Sequence[Record], now: float) -> list[Record]:
    """The closed segments, then the current ones (open ones ending `now`), each starting no
    earlier than its series' last closed segment ended, all cut at `now` (a preempted job
    holds its GPUs until its checkpoint is saved, which may be later); segments left empty
    are dropped."""
    last: dict[str, float] = {}
    for r in closed:
        last[r.key] = max(last.get(r.key, -math.inf), r.end if r.end is not None else r.start)
    out = [
        r if r.end <= now else replace(r, end=now)
        for r in closed
        if r.end is not None and min(r.end, now) > r.start
    ]
    for r in current:
        start = max(r.start, last.get(r.key, -math.inf))
        end = min(r.end if r.end is not None else now, now)
        if end > start:
            out.append(replace(r, start=start, end=end))
    return out


def prices(
    classes: Iterable[accelerator.AcceleratorClass],
    held: Iterable[Record],
    imported: pricing.PriceBook | None = None,
) -> pricing.PriceBook:
    """GPU prices from the classes; CPU, memory and storage at OpenCost's defaults; a spot
    GPU at its class's on-demand price when nothing says its spot price (an upper bound,
    logged); and `imported` prices over all of them."""
    book = pricing.from_accelerator_classes(classes).merged(
        pricing.PriceBook({k: pricing.PriceSchedule.constant(p)
                           for k, p in CPU_MEMORY_PRICES.items()})
    ).merged(imported or pricing.PriceBook())
    for rate in {r.rate for r in held} - set(book.schedules):
        if rate.kind is pricing.ResourceKind.STORAGE:
            storage = pricing.PriceSchedule.constant(pricing.storage_hourly(STORAGE_PRICE))
            book = pricing.PriceBook({**book.schedules, rate: storage})
            continue
        on_demand = replace(rate, market=pricing.Market.ON_DEMAND)
        if rate.market is not pricing.Market.ON_DEMAND and on_demand in book.schedules:
            log.warning("no %s price: priced at %s's", rate, on_demand)
            book = pricing.PriceBook({**book.schedules, rate: book.schedules[on_demand]})
    return book


def intervals(held: Iterable[Record]) -> ledger.Ledger:
    """Closed segments as the ledger's interval tables, built column by column (a live
    ledger is rebuilt on every pass, from every segment its journal holds)."""
    rows: dict[Kind, list[Record]] = {"allocation": [], "asset": []}
    for r in held:
        assert r.end is not None
        rows[r.record].append(r)
    return ledger.Ledger(_table(rows["allocation"]), _table(rows["asset"]))


def _table(rows: Sequence[Record]) -> ledger.Intervals:
    rates: dict[pricing.RateKey, int] = {}
    vocabularies: dict[str, dict[str, int]] = {}
    codes: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        for name, value in r.labels.items():
            column = codes.get(name)
            if column is None:
                column = codes[name] = [-1] * len(rows)
            words = vocabularies.setdefault(name, {})
            column[i] = words.setdefault(value, len(words))
    return ledger.Intervals(
        start=np.array([r.start for r in rows], dtype=np.float64),
        end=np.array([r.end for r in rows], dtype=np.float64),
        rate=np.array([rates.setdefault(r.rate, len(rates)) for r in rows], dtype=np.int32),
        amount=np.array([r.amount for r in rows], dtype=np.float64),
        rates=tuple(rates),
        codes={name: np.array(column, dtype=np.int32) for name, column in codes.items()},
        values={name: tuple(words) for name, words in vocabularies.items()},
    )


Sampler = Callable[[ledger.Ledger], utilisation.Samples]
"""Measured utilisation for a ledger's allocation rows (e.g. from DCGM through Prometheus)."""


def build(
    held: Sequence[Record],
    now: float,
    book: pricing.PriceBook,
    vram_gib: Mapping[str, float],
    seed: int = 0,
    sampler: Sampler | None = None,
) -> view.CostView:
    """The view of closed segments `held` (see `merge`), with GPU samples from `sampler`, or
    simulated ones when there is none (the embedded cluster has no GPUs to measure)."""
    book_of = intervals(held)
    if sampler is not None:
        return view.CostView(book_of, sampler(book_of), book, now)
    allocations = [r for r in held if r.record == "allocation"]
    return view.CostView(book_of, samples(allocations, vram_gib, seed), book, now)


def samples(
    allocations: Sequence[Record], vram_gib: Mapping[str, float], seed: int = 0
) -> utilisation.Samples:
    """Simulated DCGM samples for each GPU allocation, every `SAMPLE_SECONDS` on a fixed grid.

    A placeholder distribution, not measured data (the embedded cluster has no GPUs): each
    segment gets a level, near zero for one in six segments (so idle-GPU findings have
    something to find) and Beta(4, 2) otherwise, and each sample is that level times
    1 + Gaussian noise (sd 0.15), clipped to 0..1, so an idle segment stays idle; memory used
    is another level (Beta(5, 2)) of the GPUs' VRAM. The generator is seeded by `seed` and
    the segment (series and start), and draws samples in time order, so a view rebuilt later
    holds the same earlier samples."""
    rows, times, active, memory = [], [], [], []
    for row, r in enumerate(allocations):
        if r.rate.kind is not pricing.ResourceKind.GPU or r.end is None:
            continue
        first = math.ceil(r.start / SAMPLE_SECONDS) * SAMPLE_SECONDS
        grid = np.arange(first, r.end, SAMPLE_SECONDS, dtype=np.float64)
        rng = np.random.default_rng([seed, zlib.crc32(f"{r.key}@{r.start!r}".encode())])
        level = rng.uniform(0.0, 0.03) if rng.random() < 1 / 6 else rng.beta(4, 2)
        used = rng.beta(5, 2)
        noise = rng.normal(0.0, 0.15, size=len(grid))
        rows.append(np.full(len(grid), row, dtype=np.int64))
        times.append(grid)
        active.append(np.clip(level * (1.0 + noise), 0.0, 1.0))
        memory.append(np.full(len(grid), used * r.amount * vram_gib.get(r.rate.sku, 0.0)))
    if not rows:
        return utilisation.Samples.empty()
    return utilisation.Samples(
        np.concatenate(rows), np.concatenate(times), np.concatenate(active),
        np.concatenate(memory),
    )


def cost_view(
    objs: Sequence[resource.Resource],
    now: float,
    closed: Sequence[Record] = (),
    opened: Mapping[str, float] | None = None,
    imported: pricing.PriceBook | None = None,
    seed: int = 0,
) -> view.CostView:
    """The ledger at `now`: `closed` segments and what the objects hold, priced and sampled."""
    held = merge(closed, holdings(objs, now, opened), now)
    classes = [o for o in objs if isinstance(o, accelerator.AcceleratorClass)]
    book = prices(classes, held, imported)
    return build(held, now, book, {c.metadata.name: c.spec.vram.gib for c in classes}, seed)
