"""Replicas packed onto GPUs by memory, with the weights they leave behind kept resident
(a VRAMPool), placed warm-aware or warm-blind.

Each GPU offers its VRAM minus `reservedPerGpu`. A one-GPU replica takes its `vram` on one
GPU; when it leaves, its weights stay there idle (see `residency`) until evicted, and a later
replica of the same model (and the same weights size, else they are other weights) placed on
that GPU adopts them: a warm start, no load.

- warm-aware: first a GPU holding an idle copy of the model (one that fits without evicting
  anything else first, the tightest fit among them), then the best fit by free memory (so no
  idle copy is evicted while memory is free elsewhere), and only then the best fit counting
  evictable copies as free, evicting in the pool's policy order.
- warm-blind: the best fit counting evictable copies as free, as a scheduler that sees only
  allocations would; it still adopts a copy it happens to land on.

A replica needing several GPUs takes GPUs with no tenant and nothing pinned, whole, evicting
their idle copies; its weights are not kept (tensor-parallel shards are not modelled as
resident copies), so it always starts cold.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s4ai.scheduler.vram import packing, placers, residency, sizing


@dataclass(frozen=True, slots=True)
class _Tenant:
    gpus: tuple[int, ...]
    copy: residency.Copy | None
    """The weights it will leave behind (one-GPU replicas only)."""


class VramPlacer:
    def __init__(
        self,
        nodes: int,
        per_node: int,
        gpu_vram: int,
        reserved: int,
        *,
        warm_aware: bool,
        policy: residency.Policy = "LRU",
    ) -> None:
        if not 0 <= reserved < gpu_vram:
            raise ValueError("reserved memory must be below the GPU's VRAM")
        self.name = "vram-warm" if warm_aware else "vram-blind"
        self.warm_aware = warm_aware
        self.usable = gpu_vram - reserved
        total = nodes * per_node
        self.ledger = packing.Ledger([self.usable] * total)
        self.residency = residency.Residency(policy)
        self._clear = placers.WholeFree(nodes, per_node)
        self._busy = [False] * total
        self._in_use = 0
        self._tenants: dict[str, _Tenant] = {}

    @property
    def gpus_in_use(self) -> int:
        return self._in_use

    def seed(self, gpu: int, copy: residency.Copy, now: float) -> None:
        """Weights the VRAMPool lists as resident on `gpu` before anything runs."""
        self.ledger.hold(gpu, copy.size, soft=self.residency.is_evictable(copy))
        if not self.residency.keep(gpu, copy, now):
            self.ledger.release(gpu, copy.size, soft=self.residency.is_evictable(copy))
            raise ValueError(f"GPU {gpu} already holds {copy.model}")
        self._update(gpu)

    def place(self, replica: placers.Replica, now: float) -> placers.Placed | placers.Refused:
        if replica.vram > self.usable:
            need, usable = sizing.gib(replica.vram), sizing.gib(self.usable)
            return placers.Refused(f"needs {need} per GPU; a GPU offers {usable}")
        if replica.gpus > 1:
            return self._place_whole(replica)
        gpu = self._choose(replica)
        if gpu is None:
            need = sizing.gib(replica.vram)
            return placers.Refused(f"no GPU has {need} free, even after evicting idle weights")
        idle = self.residency.idle_copy(gpu, replica.model)
        same = idle is not None and idle.size == replica.weights
        taken = self.residency.take(gpu, replica.model) if same else None
        if taken is not None:
            self.ledger.release(gpu, taken.size, soft=self.residency.is_evictable(taken))
        evicted = self._evict(gpu, replica.vram - self.ledger.free(gpu))
        self.ledger.charge(gpu, replica.name, replica.vram)
        copy = taken or residency.Copy(replica.model, replica.weights)
        self._tenants[replica.name] = _Tenant((gpu,), copy)
        self._update(gpu)
        return placers.Placed((gpu,), warm=taken is not None, evicted=evicted)

    def remove(self, name: str, now: float) -> None:
        tenant = self._tenants.pop(name)
        for i, gpu in enumerate(tenant.gpus):
            self.ledger.discharge(self._share(name, i, len(tenant.gpus)))
            if tenant.copy is not None and self.residency.keep(gpu, tenant.copy, now):
                self.ledger.hold(gpu, tenant.copy.size, self.residency.is_evictable(tenant.copy))
            self._update(gpu)

    def resident(self) -> list[tuple[int, residency.Copy]]:
        """(GPU, copy) for every model's weights in GPU memory, running or idle: the
        VRAMPool's record, before GPUs are named by node."""
        out = [(t.gpus[0], t.copy) for t in self._tenants.values() if t.copy is not None]
        for gpu in range(len(self.ledger)):
            out.extend((gpu, c) for c in self.residency.idle(gpu))
        return sorted(out, key=lambda gc: (gc[0], gc[1].model))

    def _choose(self, replica: placers.Replica) -> int | None:
        if not self.warm_aware:
            return self.ledger.best_fit(replica.vram, evicting=True)
        warm = self._warm(replica)
        if warm is not None:
            return warm
        gpu = self.ledger.best_fit(replica.vram)
        return gpu if gpu is not None else self.ledger.best_fit(replica.vram, evicting=True)

    def _warm(self, replica: placers.Replica) -> int | None:
        best: tuple[int, int, int] | None = None
        for gpu in self.residency.holders(replica.model):
            copy = self.residency.idle_copy(gpu, replica.model)
            if copy is None or copy.size != replica.weights:
                continue
            room = self.ledger.free(gpu) + copy.size
            evicting = 0
            if room < replica.vram:
                evicting = 1
                room = self.ledger.available(gpu)
                room += 0 if self.residency.is_evictable(copy) else copy.size
                if room < replica.vram:
                    continue
            key = (evicting, room - replica.vram, gpu)
            if best is None or key < best:
                best = key
        return None if best is None else best[2]

    def _place_whole(self, replica: placers.Replica) -> placers.Placed | placers.Refused:
        gpus = self._clear.find(replica.gpus)
        if gpus is None:
            return placers.Refused(f"no node has {replica.gpus} GPUs with nothing on them")
        evicted = 0
        for i, gpu in enumerate(gpus):
            evicted += self._evict(gpu, self.usable - self.ledger.free(gpu))
            self.ledger.charge(gpu, self._share(replica.name, i, len(gpus)), self.usable)
            self._update(gpu)
        self._tenants[replica.name] = _Tenant(gpus, None)
        return placers.Placed(gpus, evicted=evicted)

    def _evict(self, gpu: int, shortfall: int) -> int:
        victims = self.residency.victims(gpu, shortfall)
        for copy in victims:
            self.residency.evict(gpu, copy)
            self.ledger.release(gpu, copy.size, soft=True)
        return len(victims)

    def _update(self, gpu: int) -> None:
        busy = self.ledger.allocated[gpu] > 0
        if busy != self._busy[gpu]:
            self._busy[gpu] = busy
            self._in_use += 1 if busy else -1
        clear = not busy and self.ledger.held[gpu] == self.ledger.soft[gpu]
        if clear != self._clear.is_free(gpu):
            self._clear.mark(gpu, free=clear)

    @staticmethod
    def _share(name: str, index: int, count: int) -> str:
        return name if count == 1 else f"{name}#{index}"
