"""Putting inference replicas on a fleet of identical GPU nodes, three ways: a whole GPU per
replica (`WholeGpuPlacer`), the smallest MIG instance that holds the replica's memory
(`MigPlacer`), or packed by memory beside other replicas (`vram_placer.VramPlacer`).

A replica that needs several GPUs (tensor parallel) takes that many whole GPUs on one node
(the node with the fewest such GPUs that suffices, so whole nodes stay free) under every
placer; sharing applies to one-GPU replicas only. GPUs are numbered node by node:
GPU g is GPU g % per_node of node g // per_node.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from k8s4ai.scheduler.vram import mig, packing, sizing


@dataclass(frozen=True, slots=True)
class Replica:
    """One replica: `vram` bytes on each of its `gpus` GPUs, holding `weights` bytes of
    `model` in total (what a cold start loads)."""

    name: str
    model: str
    vram: int
    weights: int
    gpus: int = 1

    def __post_init__(self) -> None:
        if self.gpus < 1 or self.vram <= 0 or self.weights < 0:
            raise ValueError(f"{self.name}: needs gpus ≥ 1, vram > 0 and weights ≥ 0")
        if self.weights > self.vram * self.gpus:
            raise ValueError(f"{self.name}: weights exceed the memory it asks for")


@dataclass(frozen=True, slots=True)
class Placed:
    gpus: tuple[int, ...]
    warm: bool = False
    """The replica's weights were already resident there: no load."""
    profile: str | None = None
    evicted: int = 0
    """Idle resident copies evicted to make room."""


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str
    repartition: bool = False
    """A MIG refusal that moving instances on some GPU would have avoided."""


class Placer(Protocol):
    name: str

    def place(self, replica: Replica, now: float) -> Placed | Refused: ...

    def remove(self, name: str, now: float) -> None: ...

    @property
    def gpus_in_use(self) -> int: ...


class WholeFree:
    """Which GPUs are free as a whole, per node, so a replica needing k whole GPUs on one node
    finds the node with the fewest free GPUs ≥ k in O(log nodes)."""

    def __init__(self, nodes: int, per_node: int) -> None:
        self.per_node = per_node
        self._free = [set(range(n * per_node, (n + 1) * per_node)) for n in range(nodes)]
        self._count = packing.SortedIndex([per_node] * nodes)
        self.free_total = nodes * per_node

    def is_free(self, gpu: int) -> bool:
        return gpu in self._free[gpu // self.per_node]

    def mark(self, gpu: int, free: bool) -> None:
        node = self._free[gpu // self.per_node]
        before = len(node)
        if free:
            node.add(gpu)
        else:
            node.discard(gpu)
        self.free_total += len(node) - before
        self._count.set(gpu // self.per_node, len(node))

    def find(self, count: int) -> tuple[int, ...] | None:
        """`count` free GPUs on the best-fitting node (lowest ids), without taking them."""
        node = self._count.first_at_least(count)
        if node is None:
            return None
        return tuple(sorted(self._free[node])[:count])


class WholeGpuPlacer:
    name = "whole-gpu"

    def __init__(self, nodes: int, per_node: int, gpu_vram: int) -> None:
        self.gpu_vram = gpu_vram
        self._whole = WholeFree(nodes, per_node)
        self._total = nodes * per_node
        self._where: dict[str, tuple[int, ...]] = {}

    def place(self, replica: Replica, now: float) -> Placed | Refused:
        if replica.vram > self.gpu_vram:
            need, have = sizing.gib(replica.vram), sizing.gib(self.gpu_vram)
            return Refused(f"needs {need} per GPU; a GPU has {have}")
        gpus = self._whole.find(replica.gpus)
        if gpus is None:
            return Refused(f"no node has {replica.gpus} free GPU(s)")
        for g in gpus:
            self._whole.mark(g, free=False)
        self._where[replica.name] = gpus
        return Placed(gpus)

    def remove(self, name: str, now: float) -> None:
        for g in self._where.pop(name):
            self._whole.mark(g, free=True)

    @property
    def gpus_in_use(self) -> int:
        return self._total - self._whole.free_total


class MigPlacer:
    """Every GPU in MIG mode, repartitioned on demand: a one-GPU replica gets the smallest
    profile holding its memory, in a free slot of the partly used GPU that has the fewest
    free memory slices left (best fit), else on an empty GPU. Running instances never move;
    when only moving some would have made room, the refusal says so."""

    name = "mig"
    _NO_SLOT = 1 << 30

    def __init__(self, nodes: int, per_node: int, geo: mig.Geometry) -> None:
        if not geo.shapes:
            raise ValueError("the AcceleratorClass has no MIG profiles")
        self.geo = geo
        self._whole = WholeFree(nodes, per_node)
        self._total = nodes * per_node
        self._layout: list[mig.Layout] = [()] * self._total
        self._layouts: Counter[mig.Layout] = Counter()
        self._open = {
            s.name: packing.SortedIndex([self._NO_SLOT] * self._total) for s in geo.shapes
        }
        self._where: dict[str, tuple[tuple[int, ...], mig.Instance | None]] = {}

    def place(self, replica: Replica, now: float) -> Placed | Refused:
        if replica.gpus > 1:
            gpus = self._whole.find(replica.gpus)
            if gpus is None:
                return Refused(f"no node has {replica.gpus} GPUs without MIG instances")
            for g in gpus:
                self._whole.mark(g, free=False)
            self._where[replica.name] = (gpus, None)
            return Placed(gpus)
        shape = mig.smallest_fitting(self.geo, replica.vram)
        if shape is None:
            largest = self.geo.shapes[-1]
            return Refused(
                f"needs {sizing.gib(replica.vram)}; the largest MIG profile, {largest.name}, "
                f"has {sizing.gib(largest.vram)}"
            )
        gpu = self._open[shape.name].first_at_least(0)
        if gpu is None or self._open[shape.name].key(gpu) == self._NO_SLOT:
            empty = self._whole.find(1)
            if empty is None:
                return self._refusal(shape)
            gpu = empty[0]
        start = mig.find_slot(self.geo, self._layout[gpu], shape.name)
        if start is None:  # pragma: no cover - the indexes only offer GPUs with a slot
            raise RuntimeError(f"GPU {gpu} has no {shape.name} slot")
        instance = mig.Instance(shape.name, start)
        self._set(gpu, mig.canonical((*self._layout[gpu], instance)))
        self._where[replica.name] = ((gpu,), instance)
        return Placed((gpu,), profile=shape.name)

    def remove(self, name: str, now: float) -> None:
        gpus, instance = self._where.pop(name)
        if instance is None:
            for g in gpus:
                self._whole.mark(g, free=True)
            return
        (gpu,) = gpus
        self._set(gpu, tuple(i for i in self._layout[gpu] if i != instance))

    @property
    def gpus_in_use(self) -> int:
        return self._total - self._whole.free_total

    def layout(self, gpu: int) -> mig.Layout:
        return self._layout[gpu]

    def _set(self, gpu: int, layout: mig.Layout) -> None:
        old = self._layout[gpu]
        if old:
            self._layouts[old] -= 1
            if not self._layouts[old]:
                del self._layouts[old]
        if layout:
            self._layouts[layout] += 1
        self._layout[gpu] = layout
        self._whole.mark(gpu, free=not layout)
        free = mig.free_memory_slices(self.geo, layout)
        for s in self.geo.shapes:
            fits = bool(layout) and bool(mig.free_starts(self.geo, layout, s.name))
            self._open[s.name].set(gpu, free if fits else self._NO_SLOT)

    def _refusal(self, shape: mig.Shape) -> Refused:
        movable = any(mig.repartition(self.geo, lay, shape.name) for lay in self._layouts)
        reason = f"no GPU has a free {shape.name} slot"
        if movable:
            reason += "; moving instances on a partly used GPU would make one"
        return Refused(reason, repartition=movable)
