"""The admission core's gang placer, made topology-aware: a gang with a constraint goes to
the smallest domain that fits it (`placement.place`), one without one to the core's best-fit
placer. Shared by the live controller and the simulator, so both place alike.

The tree sees whole GPUs: a fractional pod counts as one GPU of its own (sharing a GPU
between pods of one gang is never assumed), so topology placement is conservative there.
When a chosen node turns out to lack CPU or memory for the pods together, the core's placer
is run with every node outside the chosen domain hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

import numpy as np

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import gang, reasons, workload
from k8s4ai.scheduler.topology import placement
from k8s4ai.scheduler.topology import tree as topo_tree

PLUGIN = "TopologyFit"

Constraints = Callable[[workload.Workload], "placement.Constraint | None"]


@contextmanager
def only(snap: snapshot.ClusterSnapshot, keep: snapshot.BoolArray) -> Iterator[None]:
    """Hide every node outside `keep` (nothing free on it) for the duration."""
    hidden = np.flatnonzero(~keep)
    saved = (snap.gpu_free[hidden], snap.cpu_free[hidden], snap.memory_free[hidden])
    snap.gpu_free[hidden], snap.cpu_free[hidden], snap.memory_free[hidden] = 0, 0, 0
    _touch(snap, hidden)
    try:
        yield
    finally:
        snap.gpu_free[hidden], snap.cpu_free[hidden], snap.memory_free[hidden] = saved
        _touch(snap, hidden)


def _touch(snap: snapshot.ClusterSnapshot, rows: snapshot.IntArray) -> None:
    """Mark rows changed, so cached per-node verdicts are computed again."""
    snap.stamp += 1
    snap.changed_at[rows] = snap.stamp


class Placer(gang.Placer):
    def __init__(
        self,
        snap: snapshot.ClusterSnapshot,
        rng: np.random.Generator,
        tree: topo_tree.Tree,
        constraints: Constraints,
        fenced: Collection[int] = (),
    ) -> None:
        super().__init__(snap, rng)
        if len(tree.hosts) != len(snap):
            raise ValueError(f"the tree has {len(tree.hosts)} nodes, the snapshot {len(snap)}")
        self.tree = tree
        self.constraints = constraints
        usable = np.ones(len(snap), dtype=bool)
        usable[list(fenced)] = False
        self.usable = usable
        self.last: placement.Placement | None = None
        """The topology placement of the last gang placed by it (None: the core placed it)."""

    def key(self, job: workload.Workload) -> tuple[object, ...]:
        return (*super().key(job), self.constraints(job))

    def place(self, job: workload.Workload) -> list[workload.Placed] | gang.Refused:
        self.last = None
        constraint = self.constraints(job)
        if constraint is None:
            return super().place(job)
        order = sorted(job.pods, key=lambda p: -p.gpu_request_milli)
        members, extra = order[: job.gang_size], order[job.gang_size :]
        largest = members[0]
        eligible = self._eligible(largest)
        free, capacity = self._per_leaf(largest, eligible)
        found = placement.place(self.tree, free, [p.num_gpu for p in members], constraint, capacity)
        if isinstance(found, placement.Refusal):
            if constraint.required:
                return gang.Refused(_reason(found))
            return super().place(job)
        placed = self._assign(members, found)
        if placed is None:
            return self._climb(job, found, constraint)
        inside = self._domain_mask(found.level, found.domain)
        if extra:
            with only(self.snap, inside):
                placed += self.place_pods(
                    workload.Workload(job.name, job.queue, tuple(extra)), len(extra)
                )
        self.last = found
        return placed

    def _eligible(self, pod: pods.PodRequest) -> snapshot.BoolArray:
        """Nodes the gang's largest pod may run on at all."""
        snap = self.snap
        ok = self.usable & snap.allowed_models(pod)
        return ok & (snap.cpu_free >= pod.cpu_milli) & (snap.memory_free >= pod.memory_mib)

    def _per_leaf(
        self, pod: pods.PodRequest, eligible: snapshot.BoolArray
    ) -> tuple[snapshot.IntArray, snapshot.IntArray]:
        """Free GPUs the gang may take, and GPUs it may ever use, per leaf."""
        snap, tree = self.snap, self.tree
        room = snap.gpu_free >= max(pod.gpu_milli, 1) if pod.num_gpu else snap.gpu_exists
        room &= snap.gpu_exists & eligible[:, None]
        leaves = tree.gpu_leaf[:, : room.shape[1]]
        free = np.bincount(leaves[room & (leaves >= 0)], minlength=len(tree.leaf_size))
        allowed = (self.usable & snap.allowed_models(pod))[tree.leaf_node]
        return free.astype(np.int64), np.where(allowed, tree.leaf_size, 0)

    def _assign(
        self, members: list[pods.PodRequest], found: placement.Placement
    ) -> list[workload.Placed] | None:
        """Charge each pod to its node on the snapshot, or nothing when one does not fit."""
        placed: list[workload.Placed] = []
        try:
            for pod, node in zip(members, found.nodes, strict=True):
                gpus = self._gpus(node, pod, found.leaf)
                self.snap.assign(node, pod, gpus)
                placed.append(workload.Placed(pod, node, gpus))
        except ValueError:
            self.release(placed)
            return None
        return placed

    def _gpus(self, node: int, pod: pods.PodRequest, leaf: int | None) -> tuple[int, ...]:
        if not pod.num_gpu:
            return ()
        row = self.snap.gpu_free[node, : int(self.snap.gpu_count[node])]
        if pod.is_fractional:
            fits = np.flatnonzero(row >= pod.gpu_milli)
            if not fits.size:
                raise ValueError(f"no GPU of node {node} fits {pod.name}")
            return (int(fits[np.argmin(row[fits])]),)
        whole = np.flatnonzero(row == pods.MILLI).tolist()
        return placement.pick_gpus(self.tree, node, whole, pod.num_gpu, leaf)

    def _climb(
        self, job: workload.Workload, found: placement.Placement, constraint: placement.Constraint
    ) -> list[workload.Placed] | gang.Refused:
        """The chosen nodes lack CPU or memory for the pods together: the core's placer in
        the chosen domain, then in each wider one up to what the constraint allows."""
        level = self.tree.level(constraint.level or "") if constraint.required else None
        stop = level if level is not None else 0
        refused: gang.Refused | None = None
        domain = found.domain
        for at in range(found.level, stop - 1, -1):
            with only(self.snap, self._domain_mask(at, domain)):
                placed = super().place(job)
            if not isinstance(placed, gang.Refused):
                return placed
            refused = refused or placed
            domain = int(self.tree.parent[at][domain])
        assert refused is not None
        return refused

    def _domain_mask(self, level: int, domain: int) -> snapshot.BoolArray:
        mask = np.zeros(len(self.snap), dtype=bool)
        mask[self.tree.nodes(level, domain)] = True
        return mask


def _reason(refusal: placement.Refusal) -> reasons.Reason:
    details: dict[str, float | str] = {"level": refusal.level, "needGpus": refusal.need}
    if refusal.why is placement.Why.NO_ROOM:
        kind = (
            reasons.Kind.FRAGMENTATION
            if refusal.free >= refusal.need
            else reasons.Kind.GANG_CANNOT_FIT
        )
        details |= {"freeGpus": refusal.free, "mostFreeInDomain": refusal.most}
    else:
        kind = reasons.Kind.UNSCHEDULABLE
        details["largestDomainGpus"] = refusal.largest
    return reasons.Reason(kind, refusal.message, PLUGIN, details)
