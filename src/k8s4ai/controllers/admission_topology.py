"""Required topology (`spec.topology.required: rack`): all of a gang's pods in one domain of
that level. The core's gang placer knows no topology, so the live controller gives the
scheduler a placer that, for such a gang, tries one domain at a time — the tightest that has
enough free GPUs first, so large domains stay whole for large gangs — with every other node
hidden, and refuses with a topology reason when no domain can hold it. Preemption goes
through the same placer, so victims are only taken where the gang can then run.
`preferred` levels are not enforced.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from k8s4ai.api import node
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import gang, reasons, workload

EPSILON = 1e-9


def gang_gpus(wl: workload.Workload) -> float:
    """GPUs the gang needs at once: its `gang_size` largest pods."""
    need = sorted((p.gpu_request_milli for p in wl.pods), reverse=True)[: wl.gang_size]
    return sum(need) / pods.MILLI


def _listing(amounts: Mapping[str, float]) -> str:
    top = sorted(amounts.items(), key=lambda item: (-item[1], item[0]))[:4]
    return ", ".join(f"{d} {v:g}" for d, v in top) or "none"


@contextmanager
def _only(snap: snapshot.ClusterSnapshot, keep: snapshot.BoolArray) -> Iterator[None]:
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
    """The core's gang placer, kept within one topology domain for gangs that require it."""

    def __init__(
        self,
        snap: snapshot.ClusterSnapshot,
        rng: np.random.Generator,
        nodes: Sequence[node.Node],
        fenced: Collection[int],
        required: Mapping[str, str],
    ) -> None:
        super().__init__(snap, rng)
        self.nodes = nodes
        self.required = required
        self.usable = snap.gpu_count.copy()
        self.usable[list(fenced)] = 0

    def domains(self, level: str) -> dict[str, snapshot.BoolArray]:
        """Each domain of `level` as a mask of snapshot rows."""
        out: dict[str, snapshot.BoolArray] = {}
        for row, n in enumerate(self.nodes):
            domain = n.spec.topology.get(level)
            if domain is not None:
                out.setdefault(domain, np.zeros(len(self.snap), dtype=bool))[row] = True
        return out

    def key(self, job: workload.Workload) -> tuple[object, ...]:
        return (*super().key(job), self.required.get(job.name))

    def place(self, job: workload.Workload) -> list[workload.Placed] | gang.Refused:
        level = self.required.get(job.name)
        if level is None:
            return super().place(job)
        return self._place_within(job, level)

    def _place_within(
        self, job: workload.Workload, level: str
    ) -> list[workload.Placed] | gang.Refused:
        need = gang_gpus(job)
        allowed = self.snap.allowed_models(max(job.pods, key=lambda p: p.gpu_request_milli))
        domains = self.domains(level)
        capacity = {d: float(self.usable[rows & allowed].sum()) for d, rows in domains.items()}
        details: dict[str, float | str] = {"level": level, "needGpus": need}
        largest = max(capacity.values(), default=0.0)
        if largest + EPSILON < need:
            return gang.Refused(
                reasons.Reason(
                    reasons.Kind.UNSCHEDULABLE,
                    f"needs {need:g} GPUs in one {level}; the largest {level} has {largest:g} "
                    "GPUs it may use",
                    "TopologyFit",
                    {**details, "largestDomainGpus": largest},
                )
            )
        left = self.snap.gpu_free.sum(axis=1) / pods.MILLI
        free = {d: float(left[rows & allowed].sum()) for d, rows in domains.items()}
        for domain in sorted(free, key=lambda d: (free[d], d)):
            if free[domain] + EPSILON < need:
                continue
            with _only(self.snap, domains[domain]):
                placed = super().place(job)
            if not isinstance(placed, gang.Refused):
                return placed
        total, most = sum(free.values()), max(free.values(), default=0.0)
        kind = (
            reasons.Kind.FRAGMENTATION if total + EPSILON >= need else reasons.Kind.GANG_CANNOT_FIT
        )
        return gang.Refused(
            reasons.Reason(
                kind,
                f"needs {need:g} GPUs in one {level}; {total:g} are free, at most {most:g} in "
                f"one {level} ({_listing(free)})",
                "TopologyFit",
                {**details, "freeGpus": total, "mostFreeInDomain": most},
            )
        )
