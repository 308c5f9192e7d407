"""The ledger: what was held (allocations) and what existed to be paid for (assets), over time.

Both are interval tables stored as columns (numpy arrays, labels as category codes), not as
one Python object per interval: a month of a large cluster is tens of millions of intervals,
and the allocation engine aggregates them in a few vectorised passes.

An interval holds `amount` units of one priced resource (a `RateKey`): whole or fractional
GPUs, a MIG slice as its fraction of a GPU, CPU cores, memory GiB, volume GB. Assets are the
bill: a node's eight H100s are one asset interval of amount 8 for as long as the node exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from k8s4ai.api import accelerator, units
from k8s4ai.finops import pricing

OWNER_LABELS = ("namespace", "queue", "team", "project", "experiment", "model", "job")
"""The labels k8s4ai knows its workloads by; any other label name can be aggregated too."""


def mig_fraction(accel: accelerator.AcceleratorClass, profile: str) -> float:
    """A MIG slice costs its share of the GPU's compute slices (1g.10gb is 1/7 of the GPU),
    the same share the placement engine reserves for it."""
    found = accel.spec.mig_profile(profile)
    if found is None:
        offered = ", ".join(p.name for p in accel.spec.mig_profiles) or "none"
        raise ValueError(
            f"AcceleratorClass {accel.metadata.name!r} has no MIG profile {profile!r} "
            f"(it offers: {offered})"
        )
    return found.compute_slices / accelerator.MIG_COMPUTE_SLICES


def vram_fraction(accel: accelerator.AcceleratorClass, vram: units.Quantity) -> float:
    """A VRAM-sized share of a GPU costs its share of the GPU's memory."""
    share = float(vram.value / accel.spec.vram.value)
    if not 0 < share <= 1:
        raise ValueError(f"{vram} is not a share of {accel.metadata.name}'s {accel.spec.vram}")
    return share


@dataclass(frozen=True, slots=True)
class Intervals:
    """Columns of [start, end) intervals (seconds since the epoch) of `amount` units of
    `rates[rate]`, with labels as codes into `values[name]` (-1 where a row has no such
    label)."""

    start: NDArray[np.float64]
    end: NDArray[np.float64]
    rate: NDArray[np.int32]
    amount: NDArray[np.float64]
    rates: tuple[pricing.RateKey, ...]
    codes: Mapping[str, NDArray[np.int32]] = field(default_factory=dict)
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.start)
        columns: dict[str, NDArray[np.generic]] = {
            "end": self.end, "rate": self.rate, "amount": self.amount, **self.codes
        }
        for name, column in columns.items():
            if len(column) != n:
                raise ValueError(f"column {name!r} has {len(column)} rows, start has {n}")
        if set(self.codes) != set(self.values):
            raise ValueError("every label column needs its values and every value list a column")
        if n and (self.rate.min() < 0 or self.rate.max() >= len(self.rates)):
            raise ValueError("rate codes must index `rates`")
        if np.any(self.end < self.start):
            raise ValueError("an interval ends before it starts")
        if np.any(self.amount < 0):
            raise ValueError("an interval holds a negative amount")

    def __len__(self) -> int:
        return len(self.start)

    def label_codes(self, name: str) -> NDArray[np.int32]:
        """The codes of `name`, all missing (-1) when no row carries that label."""
        found = self.codes.get(name)
        return found if found is not None else np.full(len(self), -1, dtype=np.int32)

    def label_values(self, name: str) -> tuple[str, ...]:
        return self.values.get(name, ())

    def labels_of(self, row: int) -> dict[str, str]:
        """One row's labels, for reporting on a handful of rows (never in a pass over all)."""
        return {
            name: self.values[name][int(codes[row])]
            for name, codes in self.codes.items()
            if codes[row] >= 0
        }


@dataclass(frozen=True, slots=True)
class Ledger:
    allocations: Intervals
    assets: Intervals


class IntervalsBuilder:
    """Builds `Intervals` row by row, for tests, files and event streams of modest size."""

    def __init__(self) -> None:
        self._rows: list[tuple[float, float, int, float]] = []
        self._rates: dict[pricing.RateKey, int] = {}
        self._labels: dict[str, list[int]] = {}
        self._values: dict[str, dict[str, int]] = {}

    def add(
        self,
        start: float,
        end: float,
        rate: pricing.RateKey,
        amount: float,
        labels: Mapping[str, str] | None = None,
    ) -> IntervalsBuilder:
        row = len(self._rows)
        self._rows.append((float(start), float(end), self._rates.setdefault(rate, len(self._rates)),
                           float(amount)))
        for name, value in (labels or {}).items():
            column = self._labels.get(name)
            if column is None:
                column = self._labels[name] = [-1] * row
            vocabulary = self._values.setdefault(name, {})
            column.append(vocabulary.setdefault(value, len(vocabulary)))
        for column in self._labels.values():
            if len(column) == row:
                column.append(-1)
        return self

    def build(self) -> Intervals:
        rows = np.array(self._rows, dtype=np.float64).reshape(-1, 4)
        return Intervals(
            start=rows[:, 0].copy(),
            end=rows[:, 1].copy(),
            rate=rows[:, 2].astype(np.int32),
            amount=rows[:, 3].copy(),
            rates=tuple(self._rates),
            codes={name: np.array(c, dtype=np.int32) for name, c in self._labels.items()},
            values={name: tuple(v) for name, v in self._values.items()},
        )

