"""Topology constraints on gangs for the live controller: `spec.topology.required: rack`
keeps all of a gang's pods in one rack, `preferred: rack` tries to. The scheduler's topology
placer (`k8s4ai.scheduler.topology`) puts such a gang in the smallest domain that fits it,
tie-broken by the fragmentation it leaves; a required gang that fits no domain of its level
waits with a `TopologyFit` reason naming the level, a preferred one goes one level up at a
time, to the whole cluster. Gangs without a constraint keep the core's best-fit placer.
Preemption goes through the same placer, so victims are only taken where the gang can then
run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from k8s4ai.api import accelerator, node, topology
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import workload
from k8s4ai.scheduler.topology import placement, placer
from k8s4ai.scheduler.topology import tree as topo_tree
from k8s4ai.scheduler.vram import mig_placer


def gang_gpus(wl: workload.Workload) -> float:
    """GPUs the gang needs at once: its `gang_size` largest pods."""
    need = sorted((p.gpu_request_milli for p in wl.pods), reverse=True)[: wl.gang_size]
    return sum(need) / pods.MILLI


def topology_of(
    topologies: Sequence[topology.TopologyDomain], nodes: Sequence[node.Node]
) -> topology.TopologyDomain | None:
    """The TopologyDomain most nodes name (the first one when none names one)."""
    named = Counter(n.spec.topology_name for n in nodes if n.spec.topology_name)
    by_name = {t.metadata.name: t for t in topologies}
    for name, _ in named.most_common():
        if name in by_name:
            return by_name[name]
    return topologies[0] if topologies else None


class Placer(mig_placer.MigAware, placer.Placer):
    """The topology placer, with each gang's constraint looked up by its scheduler name,
    keeping MIG layouts valid (`mig_placer`; `record` None keeps no MIG instances)."""

    def __init__(
        self,
        snap: snapshot.ClusterSnapshot,
        rng: np.random.Generator,
        nodes: Sequence[node.Node],
        fenced: Collection[int],
        required: Mapping[str, str],
        preferred: Mapping[str, str] | None = None,
        topologies: Sequence[topology.TopologyDomain] = (),
        classes: Mapping[str, accelerator.AcceleratorClass] | None = None,
        record: mig_placer.Record | None = None,
    ) -> None:
        self.nodes = nodes
        self.record = record or mig_placer.Record([None] * len(snap), {})
        self.required = required
        self.preferred: Mapping[str, str] = preferred or {}
        tree = (
            topo_tree.build(
                topology_of(topologies, nodes), nodes, classes or {}, snap.gpu_count.tolist()
            )
            if nodes
            else topo_tree.Tree([], [topo_tree.Host(name, ()) for name in snap.names])
        )
        super().__init__(snap, rng, tree, self.constraint, fenced)

    def constraint(self, job: workload.Workload) -> placement.Constraint | None:
        level = self.required.get(job.name)
        if level is not None:
            return placement.Constraint(level, required=True)
        level = self.preferred.get(job.name)
        return placement.Constraint(level) if level is not None else None
