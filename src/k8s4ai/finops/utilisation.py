"""Utilisation samples beside the ledger: what an allocation's GPUs did while it held them.

DCGM exports, per GPU (or MIG instance), the graphics engine's active share
(`DCGM_FI_PROF_GR_ENGINE_ACTIVE`, 0..1) and framebuffer memory used (`DCGM_FI_DEV_FB_USED`).
The allocation basis of cost charges what was held; these samples say how much of it was used,
which is what idle-GPU findings (and a usage basis) need. Like the ledger they are columns, one
row per scrape of one allocation: a month of 15-second scrapes is far too many for objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from k8s4ai.finops import allocation


@dataclass(frozen=True, slots=True)
class Samples:
    """`row[i]` is a row of the ledger's allocations; `engine_active[i]` the mean
    engine activity over that allocation's GPUs at `time[i]` (relative to a MIG instance when
    the allocation is one, as DCGM reports it), and `memory_used[i]` GiB used over all of
    them."""

    row: NDArray[np.int64]
    time: NDArray[np.float64]
    engine_active: NDArray[np.float64]
    memory_used: NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.row)
        for name in ("time", "engine_active", "memory_used"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name!r} has a different length from 'row'")
        if n and (self.engine_active.min() < 0 or self.engine_active.max() > 1):
            raise ValueError("engine activity is a share: 0..1")
        if n and self.memory_used.min() < 0:
            raise ValueError("memory used cannot be negative")

    def __len__(self) -> int:
        return len(self.row)

    @classmethod
    def empty(cls) -> Samples:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))

    def peaks(self, rows: int, window: allocation.Window) -> Peaks:
        """Per allocation row (0..rows-1), over the samples inside the window: how many, and
        the highest activity and memory seen (-1 for rows without a sample)."""
        inside = (self.time >= window.start) & (self.time < window.end)
        which = self.row[inside]
        count = np.bincount(which, minlength=rows)[:rows]
        active = np.full(rows, -1.0)
        memory = np.full(rows, -1.0)
        np.maximum.at(active, which, self.engine_active[inside])
        np.maximum.at(memory, which, self.memory_used[inside])
        return Peaks(count, active, memory)


@dataclass(frozen=True, slots=True)
class Peaks:
    count: NDArray[np.int64]
    engine_active: NDArray[np.float64]
    memory_used: NDArray[np.float64]


class SamplesBuilder:
    """Row by row, for tests and simulated clusters of modest size."""

    def __init__(self) -> None:
        self._rows: list[tuple[int, float, float, float]] = []

    def add(self, row: int, time: float, engine_active: float, memory_used: float
            ) -> SamplesBuilder:
        self._rows.append((row, float(time), float(engine_active), float(memory_used)))
        return self

    def build(self) -> Samples:
        table = np.array(self._rows, dtype=np.float64).reshape(-1, 4)
        return Samples(
            table[:, 0].astype(np.int64), table[:, 1].copy(), table[:, 2].copy(),
            table[:, 3].copy(),
        )
