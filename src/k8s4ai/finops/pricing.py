"""Prices per unit-hour of each priced resource, as step functions of time.

A price is keyed by what is bought (a GPU class, CPU cores, memory, a storage class) and how
(on-demand, spot, reserved), because a spot H100 and an on-demand H100 are different lines on
a bill. Prices change (spot markets, renegotiated contracts), so each key holds a schedule, and
the cost of an interval is the integral of its price over it: an interval that spans a change
is split at the change without the ledger ever storing the split.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from k8s4ai.api import accelerator

SECONDS_PER_HOUR = 3600.0
HOURS_PER_MONTH = 730.0
"""The month storage is priced in: 365 × 24 / 12, the figure OpenCost and the clouds use."""


class ResourceKind(StrEnum):
    GPU = "gpu"
    CPU = "cpu"
    MEMORY = "memory"
    STORAGE = "storage"


UNITS: Mapping[ResourceKind, str] = {
    ResourceKind.GPU: "GPU",
    ResourceKind.CPU: "core",
    ResourceKind.MEMORY: "GiB",
    ResourceKind.STORAGE: "GB",
}


class Market(StrEnum):
    ON_DEMAND = "on-demand"
    SPOT = "spot"
    RESERVED = "reserved"


@dataclass(frozen=True, slots=True, order=True)
class RateKey:
    """What is priced: `sku` names the AcceleratorClass or storage class ("" for CPU and
    memory, which are priced per unit whatever the node)."""

    kind: ResourceKind
    sku: str = ""
    market: Market = Market.ON_DEMAND

    def __str__(self) -> str:
        return _rate_name(self.kind, self.sku, self.market)


@functools.cache
def _rate_name(kind: ResourceKind, sku: str, market: Market) -> str:
    """Cached: a cost view names every segment's rate, tens of thousands per build, from a
    handful of distinct keys."""
    return "/".join(p for p in (kind.value, sku, market.value) if p)


@dataclass(frozen=True, slots=True)
class PriceSchedule:
    """Dollars per unit-hour: `prices[0]` before `changes[0]`, `prices[i]` from `changes[i-1]`.

    Times are seconds since the epoch (UTC), as everywhere in the ledger.
    """

    prices: tuple[float, ...]
    changes: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.prices) != len(self.changes) + 1:
            raise ValueError("a schedule has one more price than price changes")
        if any(b <= a for a, b in itertools.pairwise(self.changes)):
            raise ValueError("price changes must be in increasing time order")
        if any(not np.isfinite(p) or p < 0 for p in self.prices):
            raise ValueError(f"prices must be finite and not negative: {self.prices}")

    @classmethod
    def constant(cls, price: float) -> PriceSchedule:
        return cls((float(price),))

    def at(self, t: float) -> float:
        return self.prices[bisect.bisect_right(self.changes, t)]

    def changed(self, at: float, price: float) -> PriceSchedule:
        """The schedule with `price` from `at` on (later changes are replaced)."""
        keep = bisect.bisect_left(self.changes, at)
        return PriceSchedule(
            (*self.prices[: keep + 1], float(price)), (*self.changes[:keep], float(at))
        )

    def cost(self, start: NDArray[np.float64], end: NDArray[np.float64]) -> NDArray[np.float64]:
        """Dollars for one unit held over each [start, end): the price integrated over time."""
        if not self.changes:
            return (end - start) * (self.prices[0] / SECONDS_PER_HOUR)
        return self._cumulative(end) - self._cumulative(start)

    def _cumulative(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """Dollars per unit from the first change to t (negative before it); anchored at a
        change rather than the epoch so that differences keep their precision."""
        changes = np.asarray(self.changes)
        prices = np.asarray(self.prices) / SECONDS_PER_HOUR
        at_change = np.concatenate(([0.0], np.cumsum(np.diff(changes) * prices[1:-1])))
        segment = np.searchsorted(changes, t, side="right")
        anchor = np.maximum(segment - 1, 0)
        since = t - changes[anchor]
        cumulative: NDArray[np.float64] = at_change[anchor] + since * prices[segment]
        return cumulative


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Every priced resource's schedule. A key without one is an error, not a free resource:
    a silent $0 would hide cost rather than report it."""

    schedules: Mapping[RateKey, PriceSchedule] = field(default_factory=dict)

    def schedule(self, key: RateKey) -> PriceSchedule:
        try:
            return self.schedules[key]
        except KeyError:
            known = ", ".join(sorted(str(k) for k in self.schedules)) or "none"
            raise KeyError(f"no price for {key} (priced: {known})") from None

    def with_price(self, key: RateKey, price: float, since: float | None = None) -> PriceBook:
        """This book with `key` at `price` from `since` (from always when None)."""
        current = self.schedules.get(key)
        if since is None or current is None:
            if since is not None:
                raise ValueError(f"{key} has no price before {since} to change from")
            schedule = PriceSchedule.constant(price)
        else:
            schedule = current.changed(since, price)
        return PriceBook({**self.schedules, key: schedule})

    def merged(self, other: PriceBook) -> PriceBook:
        """This book with `other`'s schedules taking precedence."""
        return PriceBook({**self.schedules, **other.schedules})


def storage_hourly(per_gb_month: float) -> float:
    """Storage is quoted per GB-month; the ledger integrates per hour."""
    return per_gb_month / HOURS_PER_MONTH


def from_accelerator_classes(classes: Iterable[accelerator.AcceleratorClass]) -> PriceBook:
    """On-demand GPU prices from the AcceleratorClass objects, where hardware knowledge
    lives; spot and reserved prices are added with `with_price` or an imported price file."""
    return PriceBook(
        {
            RateKey(ResourceKind.GPU, c.metadata.name): PriceSchedule.constant(
                c.spec.price_per_hour
            )
            for c in classes
        }
    )
