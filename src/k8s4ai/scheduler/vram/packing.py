"""Fractional GPUs packed by memory: a GPU offers its VRAM minus the VRAMPool's
`reservedPerGpu`, a pod takes the `vram` it asks for, and the ledger refuses any change that
would over-commit a GPU — so no sequence of placements, departures and evictions can put more
on a GPU than it has.

A GPU's memory is held by tenants (running pods) and by idle resident weights (kept warm by
`residency`; `soft` is the part of those that may be evicted, i.e. not pinned). Best fit by
memory: of the GPUs that can take a request, the one with the least memory left, so large
holes stay whole for large requests. The indexes keep every GPU sorted by free memory (and by
free plus evictable memory), so a best-fit query is a binary search, not a scan.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence


class OverCommitError(RuntimeError):
    """A change that would hold more memory on a GPU than it offers."""


class SortedIndex:
    """Integer ids sorted by an integer key: "smallest key ≥ x" in O(log n)."""

    def __init__(self, keys: Sequence[int]) -> None:
        self._key = list(keys)
        self._order = sorted((k, i) for i, k in enumerate(keys))

    def set(self, item: int, key: int) -> None:
        old = self._key[item]
        if old == key:
            return
        del self._order[bisect.bisect_left(self._order, (old, item))]
        bisect.insort(self._order, (key, item))
        self._key[item] = key

    def at_least(self, key: int) -> Iterator[int]:
        """Items with a key ≥ `key`, smallest key first (lowest id on ties)."""
        for i in range(bisect.bisect_left(self._order, (key, -1)), len(self._order)):
            yield self._order[i][1]

    def first_at_least(self, key: int) -> int | None:
        return next(self.at_least(key), None)

    def key(self, item: int) -> int:
        return self._key[item]


class Ledger:
    """Memory per GPU: what it offers, what tenants and idle weights hold."""

    def __init__(self, usable: Sequence[int]) -> None:
        if any(u < 0 for u in usable):
            raise ValueError("usable memory cannot be negative")
        self.usable = list(usable)
        self.allocated = [0] * len(usable)
        self.held = [0] * len(usable)
        self.soft = [0] * len(usable)
        self._tenants: dict[str, tuple[int, int]] = {}
        self._by_free = SortedIndex(self.usable)
        self._by_available = SortedIndex(self.usable)

    def __len__(self) -> int:
        return len(self.usable)

    def free(self, gpu: int) -> int:
        return self.usable[gpu] - self.allocated[gpu] - self.held[gpu]

    def available(self, gpu: int) -> int:
        """Free memory once every evictable idle copy is gone."""
        return self.free(gpu) + self.soft[gpu]

    def tenant(self, name: str) -> tuple[int, int] | None:
        """(GPU, bytes) of a tenant, or None."""
        return self._tenants.get(name)

    def charge(self, gpu: int, name: str, amount: int) -> None:
        if name in self._tenants:
            raise ValueError(f"{name}: already placed on GPU {self._tenants[name][0]}")
        self._require(gpu, amount, f"{name} ({amount} B)")
        self._tenants[name] = (gpu, amount)
        self.allocated[gpu] += amount
        self._reindex(gpu)

    def discharge(self, name: str) -> tuple[int, int]:
        """Remove a tenant; returns its (GPU, bytes)."""
        gpu, amount = self._tenants.pop(name)
        self.allocated[gpu] -= amount
        self._reindex(gpu)
        return gpu, amount

    def hold(self, gpu: int, amount: int, soft: bool) -> None:
        """Idle weights now occupy `amount` bytes (evictable when `soft`)."""
        self._require(gpu, amount, f"resident weights ({amount} B)")
        self.held[gpu] += amount
        self.soft[gpu] += amount if soft else 0
        self._reindex(gpu)

    def release(self, gpu: int, amount: int, soft: bool) -> None:
        if amount > self.held[gpu] or (soft and amount > self.soft[gpu]):
            raise ValueError(f"GPU {gpu}: releasing {amount} B it does not hold")
        self.held[gpu] -= amount
        self.soft[gpu] -= amount if soft else 0
        self._reindex(gpu)

    def best_fit(self, need: int, evicting: bool = False) -> int | None:
        """The GPU with the least memory left that still has `need` bytes free (or free after
        evicting idle weights, when `evicting`)."""
        index = self._by_available if evicting else self._by_free
        return index.first_at_least(need)

    def _require(self, gpu: int, amount: int, what: str) -> None:
        if amount < 0:
            raise ValueError(f"{what}: cannot hold a negative amount")
        if amount > self.free(gpu):
            raise OverCommitError(
                f"GPU {gpu}: {what} does not fit in {self.free(gpu)} B free "
                f"({self.usable[gpu]} usable, {self.allocated[gpu]} allocated, "
                f"{self.held[gpu]} resident)"
            )

    def _reindex(self, gpu: int) -> None:
        self._by_free.set(gpu, self.free(gpu))
        self._by_available.set(gpu, self.available(gpu))
