"""Which model weights stay resident on which GPUs after the replicas that loaded them leave,
so that a later replica of the same model placed there starts warm instead of loading them
again — the record a VRAMPool keeps (`spec.residentModels`).

A GPU keeps at most one idle copy of a model. Idle copies hold memory, but may be evicted to
make room, in the VRAMPool's `evictionPolicy` order: `LRU` (least recently used first), `LFU`
(fewest warm starts served first, then least recently used); with `Never` nothing is evicted,
so only the copies the pool lists (`listed`), not those replicas leave behind, are kept.
Pinned copies are never evicted under any policy. Memory itself is accounted by
`packing.Ledger`; this module only decides what is resident and what goes first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from k8s4ai.api import vram

Policy = Literal["LRU", "LFU", "Never"]
POLICIES: tuple[Policy, ...] = ("LRU", "LFU", "Never")


@dataclass(frozen=True, slots=True)
class Copy:
    """One model's weights on one GPU."""

    model: str
    size: int
    pinned: bool = False
    listed: bool = False
    """The VRAMPool lists it: kept even when the policy is `Never`."""


@dataclass(slots=True)
class _Idle:
    copy: Copy
    since: float


class Residency:
    """Idle resident copies per GPU, with the statistics eviction orders them by."""

    def __init__(self, policy: Policy = "LRU") -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown eviction policy {policy!r} (known: {', '.join(POLICIES)})")
        self.policy = policy
        self._idle: dict[int, dict[str, _Idle]] = defaultdict(dict)
        self._holders: dict[str, set[int]] = defaultdict(set)
        self._uses: dict[tuple[int, str], int] = defaultdict(int)

    def idle(self, gpu: int) -> tuple[Copy, ...]:
        return tuple(e.copy for e in self._idle.get(gpu, {}).values())

    def holders(self, model: str) -> tuple[int, ...]:
        """GPUs holding an idle copy of `model`, in id order."""
        return tuple(sorted(self._holders.get(model, ())))

    def has(self, gpu: int, model: str) -> bool:
        return model in self._idle.get(gpu, {})

    def idle_copy(self, gpu: int, model: str) -> Copy | None:
        entry = self._idle.get(gpu, {}).get(model)
        return None if entry is None else entry.copy

    def is_evictable(self, copy: Copy) -> bool:
        return self.policy != "Never" and not copy.pinned

    def evictable(self, gpu: int) -> int:
        return sum(
            e.copy.size for e in self._idle.get(gpu, {}).values() if self.is_evictable(e.copy)
        )

    def keep(self, gpu: int, copy: Copy, now: float) -> bool:
        """Record `copy` as resident and idle on `gpu`; False when it is not kept (the GPU
        already holds an idle copy of the model, or the policy keeps only listed copies)."""
        kept_anyway = copy.pinned or copy.listed
        if self.has(gpu, copy.model) or (self.policy == "Never" and not kept_anyway):
            return False
        self._idle[gpu][copy.model] = _Idle(copy, now)
        self._holders[copy.model].add(gpu)
        return True

    def take(self, gpu: int, model: str) -> Copy | None:
        """A starting replica adopts the idle copy of `model` on `gpu` (a warm start)."""
        entry = self._idle.get(gpu, {}).pop(model, None)
        if entry is None:
            return None
        self._forget(gpu, model)
        self._uses[(gpu, model)] += 1
        return entry.copy

    def victims(self, gpu: int, shortfall: int) -> tuple[Copy, ...]:
        """Idle copies to evict from `gpu`, in policy order, until `shortfall` bytes are free;
        never pinned ones. Raises ValueError if they cannot free enough."""
        if shortfall <= 0:
            return ()
        chosen: list[Copy] = []
        freed = 0
        for entry in self._eviction_order(gpu):
            if freed >= shortfall:
                break
            chosen.append(entry.copy)
            freed += entry.copy.size
        if freed < shortfall:
            raise ValueError(f"GPU {gpu}: evicting cannot free {shortfall} B ({freed} B at most)")
        return tuple(chosen)

    def evict(self, gpu: int, copy: Copy) -> None:
        if not self.is_evictable(copy):
            raise ValueError(
                f"{copy.model} on GPU {gpu} is never evicted (pinned, or policy {self.policy})"
            )
        entry = self._idle.get(gpu, {}).pop(copy.model, None)
        if entry is None:
            raise ValueError(f"GPU {gpu} holds no idle copy of {copy.model}")
        self._forget(gpu, copy.model)

    def _eviction_order(self, gpu: int) -> list[_Idle]:
        entries = [e for e in self._idle.get(gpu, {}).values() if self.is_evictable(e.copy)]
        if self.policy == "LFU":
            entries.sort(key=lambda e: (self._uses[(gpu, e.copy.model)], e.since, e.copy.model))
        else:
            entries.sort(key=lambda e: (e.since, e.copy.model))
        return entries

    def _forget(self, gpu: int, model: str) -> None:
        holders = self._holders[model]
        holders.discard(gpu)
        if not holders:
            del self._holders[model]


def pool_copies(pool: vram.VRAMPool) -> list[tuple[str, Copy]]:
    """(node, copy) for each model the pool lists on each of its nodes."""
    return [
        (node, Copy(m.model, int(m.size.value), m.pinned, listed=True))
        for m in pool.spec.resident_models
        for node in m.nodes
    ]


def resident_models(copies: Iterable[tuple[str, Copy]]) -> list[vram.ResidentModel]:
    """The pool's `residentModels` for (node, copy) pairs: one entry per model, with the
    nodes holding it (pinned when any copy is)."""
    nodes: dict[str, set[str]] = defaultdict(set)
    size: dict[str, int] = {}
    pinned: dict[str, bool] = defaultdict(bool)
    for node, copy in copies:
        nodes[copy.model].add(node)
        size[copy.model] = max(size.get(copy.model, 0), copy.size)
        pinned[copy.model] |= copy.pinned
    return [
        vram.ResidentModel.model_validate(
            {"model": m, "size": str(size[m]), "nodes": sorted(nodes[m]), "pinned": pinned[m]}
        )
        for m in sorted(nodes)
    ]
