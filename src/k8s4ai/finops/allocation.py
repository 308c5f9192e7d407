"""Cost per aggregation key over a window, reconciled to the cluster's bill to the cent.

Modelled on OpenCost's `/allocation`: intervals are clipped to the window [start, end), priced
by integrating their resource's price schedule, and summed per key (a tuple of label names;
a row without one of the labels lands in `__unallocated__` for that part of the key). What the
assets cost and nothing held is idle: per priced resource (a spot H100, CPU cores, a storage
class), idle = asset cost − allocated cost. It is reported as its own `__idle__` line, or with
`share_idle` given back to the lines in proportion to what each holds of that same resource
(OpenCost's shareIdle, per resource as OpenCost does for CPU, RAM and GPU, and here finer: idle
H100s are charged to H100 users, not to whoever uses CPU). Idle is negative if more was
allocated than existed, so the report still reconciles and the inconsistency shows.

On the *usage* basis (`Basis.USAGE`) a GPU allocation is charged only for the share of what it
held that it used, by its DCGM engine activity, and the rest of what it held is idle with the
capacity nobody held; the bill is the same on both bases, only who carries it changes.

The lines, idle included, add up exactly to the bill, kind by kind (see `money`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from k8s4ai.finops import ledger, money, pricing

if TYPE_CHECKING:  # utilisation imports this module for `Window`
    from k8s4ai.finops import utilisation

IDLE = "__idle__"
UNALLOCATED = "__unallocated__"
UNMOUNTED = "__unmounted__"
VOLUME = "volume"
"""The label that names a volume, on its storage asset and on the allocations mounting it."""
KINDS: tuple[pricing.ResourceKind, ...] = tuple(pricing.ResourceKind)
DIRECT_CELLS = 1 << 24
"""Up to this many (key × resource) cells, keys are numbered by their label codes directly;
beyond, the keys that occur are found by sorting (slower, but memory stays bounded)."""


class Basis(StrEnum):
    ALLOCATION = "allocation"
    """What was held, used or not (OpenCost's default)."""
    USAGE = "usage"
    """What was used of it, where utilisation samples say so."""


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in seconds since the epoch."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError(f"a window must end after it starts: [{self.start}, {self.end})")

    @classmethod
    def last(cls, seconds: float, now: float) -> Window:
        return cls(now - seconds, now)


@dataclass(frozen=True, slots=True)
class Line:
    key: tuple[str, ...]
    cents: tuple[int, ...]
    """Per resource kind, in the order of `KINDS`."""

    @property
    def total(self) -> int:
        return sum(self.cents)

    def cost(self, kind: pricing.ResourceKind) -> int:
        return self.cents[KINDS.index(kind)]


@dataclass(frozen=True, slots=True)
class Report:
    window: Window
    aggregate: tuple[str, ...]
    share_idle: bool
    basis: Basis
    lines: tuple[Line, ...]
    """Most expensive first; the idle line, if any, last."""
    bill: tuple[int, ...]
    """What the assets cost in the window, per resource kind, in cents."""

    @property
    def total(self) -> int:
        return sum(self.bill)

    def line(self, *key: str) -> Line | None:
        return next((line for line in self.lines if line.key == key), None)

    @property
    def idle(self) -> Line | None:
        return self.line(*self.idle_key(len(self.aggregate)))

    @staticmethod
    def idle_key(width: int) -> tuple[str, ...]:
        return (IDLE,) * width


def allocate(
    book: ledger.Ledger,
    prices: pricing.PriceBook,
    window: Window,
    aggregate: Sequence[str],
    share_idle: bool = False,
    basis: Basis = Basis.ALLOCATION,
    samples: utilisation.Samples | None = None,
) -> Report:
    """The window's cost per value of the `aggregate` labels, plus idle, summing to the bill.

    On the usage basis a GPU allocation is charged its cost × its mean engine activity over
    the samples taken inside both the window and its own interval (scrapes are evenly spaced,
    so their mean is the time average). An allocation without such samples, or without
    `samples` at all, is charged as held: missing telemetry must not make a job free. CPU,
    memory and storage are charged as held on both bases (no samples measure them yet).
    With `share_idle`, idle is shared in proportion to what each line is charged."""
    names, basis = tuple(aggregate), Basis(basis)
    if not names:
        raise ValueError("aggregate by at least one label, e.g. ('team',)")
    rates = tuple(dict.fromkeys(book.allocations.rates + book.assets.rates))
    kind_of = np.array([KINDS.index(r.kind) for r in rates], dtype=np.int64)
    held, alloc_cost, alloc_rate = _priced(book.allocations, rates, prices, window)
    if basis is Basis.USAGE and samples is not None and len(samples):
        gpu = kind_of[alloc_rate] == KINDS.index(pricing.ResourceKind.GPU)
        alloc_cost = np.where(gpu, alloc_cost * _used_share(book.allocations, samples, window),
                              alloc_cost)
    _, asset_cost, asset_rate = _priced(book.assets, rates, prices, window)
    assets = np.bincount(asset_rate, asset_cost, len(rates)).astype(np.float64)

    group, numbers, vocabularies = _groups(book.allocations, names, len(rates))
    cells = np.bincount(
        group * len(rates) + alloc_rate, weights=alloc_cost, minlength=len(numbers) * len(rates)
    ).reshape(len(numbers), len(rates)).astype(np.float64)
    present = np.bincount(group, weights=held, minlength=len(numbers)) > 0
    cells, keys = cells[present], _keys(numbers[present], vocabularies)
    idle = assets - cells.sum(axis=0)
    unmounted = _unmounted(book, asset_cost, asset_rate, alloc_cost, alloc_rate, len(rates))
    idle -= unmounted
    if share_idle:
        allocated = cells.sum(axis=0)
        shared = allocated != 0
        cells[:, shared] += cells[:, shared] * (idle[shared] / allocated[shared])
        idle[shared] = 0.0

    by_kind = np.zeros((len(keys) + 2, len(KINDS)))
    for k in range(len(KINDS)):
        by_kind[:-2, k] = cells[:, kind_of == k].sum(axis=1)
        by_kind[-2, k] = unmounted[kind_of == k].sum()
        by_kind[-1, k] = idle[kind_of == k].sum()
    bill = [money.cents(float(assets[kind_of == k].sum())) for k in range(len(KINDS))]
    rounded = np.column_stack(
        [money.split_cents(by_kind[:, k], bill[k]) for k in range(len(KINDS))]
    ).reshape(len(keys) + 2, len(KINDS))
    lines = sorted(
        (Line(key, tuple(int(c) for c in row)) for key, row in zip(keys, rounded, strict=False)),
        key=lambda line: (-line.total, line.key),
    )
    unmounted_cents = tuple(int(c) for c in rounded[-2])
    if any(unmounted_cents):
        lines.append(Line((UNMOUNTED,) * len(names), unmounted_cents))
    idle_cents = tuple(int(c) for c in rounded[-1])
    if any(idle_cents):
        lines.append(Line(Report.idle_key(len(names)), idle_cents))
    return Report(window, names, share_idle, basis, tuple(lines), tuple(bill))


def _unmounted(
    book: ledger.Ledger,
    asset_cost: NDArray[np.float64],
    asset_rate: NDArray[np.int64],
    alloc_cost: NDArray[np.float64],
    alloc_rate: NDArray[np.int64],
    width: int,
) -> NDArray[np.float64]:
    """Per rate, what named volumes cost beyond what the allocations mounting them were
    charged: OpenCost's `__unmounted__`, a volume someone pays for that nobody uses, kept out of
    idle (which is capacity nobody was given) and never shared back."""
    out = np.zeros(width)
    asset_codes = book.assets.label_codes(VOLUME)
    if not (asset_codes >= 0).any():
        return out
    alloc_codes = book.allocations.label_codes(VOLUME)
    alloc_names = book.allocations.label_values(VOLUME)
    alloc_index = {name: i for i, name in enumerate(alloc_names)}
    # Map each asset's volume onto the allocations' vocabulary (-1: nobody ever mounted it).
    to_alloc = np.array(
        [alloc_index.get(name, -1) for name in book.assets.label_values(VOLUME)], dtype=np.int64
    )
    named = asset_codes >= 0
    volume = np.where(named, to_alloc[np.maximum(asset_codes, 0)], -1)
    owed = np.zeros((len(alloc_names), width))
    never = named & (volume < 0)
    np.add.at(out, asset_rate[never], asset_cost[never])
    mounted = named & (volume >= 0)
    np.add.at(owed, (volume[mounted], asset_rate[mounted]), asset_cost[mounted])
    mounts = alloc_codes >= 0
    np.add.at(owed, (alloc_codes[mounts], alloc_rate[mounts]), -alloc_cost[mounts])
    out += np.clip(owed, 0.0, None).sum(axis=0)
    return out


def _used_share(
    intervals: ledger.Intervals, samples: utilisation.Samples, window: Window
) -> NDArray[np.float64]:
    """Per row, the mean engine activity of its samples inside the window and the row's own
    interval, or 1 where there are none (charged as held)."""
    if samples.row.min() < 0 or samples.row.max() >= len(intervals):
        raise ValueError(f"samples name allocation rows outside 0..{len(intervals) - 1}")
    start = np.maximum(intervals.start, window.start)[samples.row]
    end = np.minimum(intervals.end, window.end)[samples.row]
    inside = (samples.time >= start) & (samples.time < end)
    which = samples.row[inside]
    count = np.bincount(which, minlength=len(intervals))
    total = np.bincount(which, weights=samples.engine_active[inside], minlength=len(intervals))
    share: NDArray[np.float64] = np.ones(len(intervals))
    np.divide(total, count, out=share, where=count > 0)
    return share


def _priced(
    intervals: ledger.Intervals,
    rates: tuple[pricing.RateKey, ...],
    prices: pricing.PriceBook,
    window: Window,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Per row: seconds held inside the window, dollars for them, and the row's index into
    `rates`. Rows outside the window stay, at zero, so no column has to be copied."""
    start = np.maximum(intervals.start, window.start)
    end = np.maximum(np.minimum(intervals.end, window.end), start)
    held = end - start
    lookup = np.array([rates.index(r) for r in intervals.rates], dtype=np.int64)
    rate = lookup[intervals.rate] if len(intervals) else np.zeros(0, dtype=np.int64)
    schedules = [prices.schedule(r) for r in intervals.rates]
    per_second = np.array(
        [s.prices[0] / pricing.SECONDS_PER_HOUR if not s.changes else 0.0 for s in schedules]
    )
    cost = held * intervals.amount
    if len(intervals):
        cost *= per_second[intervals.rate]
    for code, schedule in enumerate(schedules):
        if schedule.changes:
            rows = np.flatnonzero(intervals.rate == code)
            cost[rows] = intervals.amount[rows] * schedule.cost(start[rows], end[rows])
    return held, cost, rate


def _groups(
    intervals: ledger.Intervals, names: tuple[str, ...], width: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], list[tuple[str, ...]]]:
    """A group per row, each group's number in the mixed radix of the label codes, and the
    vocabularies to decode it with (a label's last value is `__unallocated__`)."""
    vocabularies = [(*intervals.label_values(n), UNALLOCATED) for n in names]
    sizes = [len(v) for v in vocabularies]
    group = np.zeros(len(intervals), dtype=np.int64)
    for name, size in zip(names, sizes, strict=True):
        codes = intervals.label_codes(name).astype(np.int64)
        group = group * size + np.where(codes < 0, size - 1, codes)
    count = math.prod(sizes)
    if count * width <= DIRECT_CELLS:
        return group, np.arange(count, dtype=np.int64), vocabularies
    numbers, group = np.unique(group, return_inverse=True)
    return group.reshape(-1), numbers, vocabularies


def _keys(
    numbers: NDArray[np.int64], vocabularies: list[tuple[str, ...]]
) -> list[tuple[str, ...]]:
    parts = np.unravel_index(numbers, [len(v) for v in vocabularies])
    return [
        tuple(v[int(i)] for v, i in zip(vocabularies, codes, strict=True))
        for codes in zip(*parts, strict=True)
    ]
