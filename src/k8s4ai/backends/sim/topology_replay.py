"""Multi-node gangs on a three-level fabric (block › rack › node, NVLink inside a node), where
where a gang lands changes how long it runs.

A trace job's duration is taken as its run time at its ideal placement: a domain of its
smallest feasible level (the deepest level with a domain that could hold it on an empty
cluster). Placed elsewhere it runs `stretch` times as long, the ratio of its step time there
to its step time at the ideal (`communication.Training`): its all-reduce crosses the slowest
link of the smallest domain holding all its GPUs.

Queueing is the admission core's (`cycle.Scheduler`; best-effort FIFO by default: backfill,
no preemption) on the event kernel `jobs.py` uses, jobs become gangs as there
(`jobs.gang_pods`), and only the placer differs:

- `required`: `scheduler.topology.placer` with every gang `required` at its smallest
  feasible level: it waits until a domain of that level has room;
- `preferred`: the same placer with every gang `preferred` at that level: it goes one level
  up at a time, at once, when none has room;
- `blind`: the core's gang best-fit placer, which packs busy nodes but knows no racks or
  blocks (ties go to a seeded random node order, as in the published simulator).

Fragmentation is measured for a reference gang (the bench's "typical gang"): the free GPUs
it could not use at its smallest feasible level (`placement.stranded`), averaged over time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from k8s4ai.backends.sim import communication, jobs, kernel
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import cycle, policies, workload
from k8s4ai.scheduler.topology import placement, placer
from k8s4ai.scheduler.topology import tree as topo_tree

PLACERS = ("required", "preferred", "blind")
QUEUE = "default"
"""Every job goes to one queue owning the whole cluster: teams are not what is compared."""
ARRIVAL, COMPLETION, CYCLE = jobs.ARRIVAL, jobs.COMPLETION, jobs.CYCLE


@dataclass(frozen=True, slots=True)
class Fabric:
    """Identical 8-GPU nodes in racks in blocks. Bandwidths are GB/s per GPU, one way, inside
    one domain of each level; `spine_gbps` between blocks. See docs/topology.md for where the
    defaults come from."""

    blocks: int
    racks_per_block: int = 8
    nodes_per_rack: int = 4
    gpus_per_node: int = 8
    nvlink_gbps: float = 450.0
    rack_gbps: float = 50.0
    block_gbps: float = 25.0
    spine_gbps: float = 6.25

    def __post_init__(self) -> None:
        sizes = (self.blocks, self.racks_per_block, self.nodes_per_rack, self.gpus_per_node)
        if min(sizes) < 1:
            raise ValueError("a fabric needs at least one block, rack, node and GPU")

    @property
    def nodes(self) -> int:
        return self.blocks * self.racks_per_block * self.nodes_per_rack

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    @property
    def block_size(self) -> int:
        return self.racks_per_block * self.nodes_per_rack * self.gpus_per_node

    def names(self) -> list[tuple[str, str, str]]:
        """(block, rack, node) of every node, in topology order."""
        return [
            (f"b{b}", f"b{b}-r{r}", f"b{b}-r{r}-n{n}")
            for b in range(self.blocks)
            for r in range(self.racks_per_block)
            for n in range(self.nodes_per_rack)
        ]

    def tree(self) -> topo_tree.Tree:
        levels = [
            topo_tree.Level("block", self.block_gbps),
            topo_tree.Level("rack", self.rack_gbps),
        ]
        hosts = [
            topo_tree.Host(node, (block, rack), (self.gpus_per_node,), self.nvlink_gbps)
            for block, rack, node in self.names()
        ]
        node_level = topo_tree.Level(topo_tree.NODE, self.nvlink_gbps)
        return topo_tree.Tree(levels, hosts, node_level, topo_tree.NVLINK, self.spine_gbps)

    def specs(self) -> list[snapshot.NodeSpec]:
        return [
            snapshot.NodeSpec(node, 128_000, 1_048_576, self.gpus_per_node, "gpu")
            for _, _, node in self.names()
        ]


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    gpus: int
    submit: float
    duration: float
    """At the ideal placement, as the trace gives it."""
    start: float
    finish: float
    level: str
    """Level of the smallest domain holding all its GPUs."""
    ideal: str
    """Its smallest feasible level."""
    stretch: float

    @property
    def jct(self) -> float:
        return self.finish - self.submit

    @property
    def smallest(self) -> bool:
        """Placed in a domain of its smallest feasible level."""
        return self.level == self.ideal


@dataclass(frozen=True, slots=True)
class Result:
    placer: str
    fabric: Fabric
    outcomes: tuple[Outcome, ...]
    stranded: float
    """Time-average free GPUs the reference gang could not use at its smallest level."""
    free: float
    """Time-average free GPUs."""
    reference: int
    skipped: tuple[str, ...]
    unfinished: tuple[str, ...]
    wall_seconds: float


class _Replay:
    def __init__(
        self,
        trace: Sequence[jobs.ReplayJob],
        fabric: Fabric,
        placer_name: str,
        training: communication.Training,
        policy: policies.Policy,
        seed: int,
        reference: int,
    ) -> None:
        self.kernel = kernel.Kernel(seed)
        self.fabric = fabric
        self.tree = fabric.tree()
        self.training = training
        cluster = jobs.Cluster(fabric.nodes, fabric.gpus_per_node)
        queues = jobs.single_queue(cluster, QUEUE)
        self.scheduler = cycle.Scheduler(fabric.specs(), queues, policy, self.kernel.rng)
        self.required = placer_name == "required"
        if placer_name != "blind":
            self.scheduler.placer = placer.Placer(
                self.scheduler.snap, self.kernel.rng, self.tree, self._constraint
            )
        self.specs = {j.name: j for j in trace}
        self.ideal: dict[tuple[int, ...], int] = {}
        self.outcomes: list[Outcome] = []
        self.running: dict[str, tuple[float, int, float]] = {}
        self.cycle_at: set[float] = set()
        self.reference = self._pods(reference)
        self.reference_level = self._ideal(self.reference)
        self.skipped = [j.name for j in trace if j.gpus > fabric.gpus]
        self.area = [0.0, 0.0]
        submits = [j.submit for j in trace if j.gpus <= fabric.gpus] or [0.0]
        self.window = (min(submits), max(submits))
        self.last: tuple[float, int, int] | None = None
        for job in trace:
            if job.gpus <= fabric.gpus:
                self.kernel.at(job.submit, self._arrive(job), ARRIVAL)

    def _pods(self, gpus: int) -> tuple[int, ...]:
        return tuple(p.num_gpu for p in jobs.gang_pods("x", gpus, self.fabric.gpus_per_node))

    def _ideal(self, shape: tuple[int, ...]) -> int:
        if shape not in self.ideal:
            level = placement.smallest_feasible(self.tree, shape)
            assert level is not None, "a job no larger than the cluster fits it"
            self.ideal[shape] = level
        return self.ideal[shape]

    def _constraint(self, wl: workload.Workload) -> placement.Constraint:
        level = self._ideal(tuple(p.num_gpu for p in wl.pods))
        return placement.Constraint(self.tree.levels[level].name, self.required)

    def _arrive(self, job: jobs.ReplayJob) -> kernel.Action:
        def arrive(k: kernel.Kernel) -> None:
            wl = workload.Workload(
                job.name,
                QUEUE,
                jobs.gang_pods(job.name, job.gpus, self.fabric.gpus_per_node),
                priority=job.priority,
                submitted=job.submit,
            )
            self.scheduler.submit(wl, work=job.duration)
            self._request_cycle(k.now)

        return arrive

    def _request_cycle(self, at: float) -> None:
        if at not in self.cycle_at:
            self.cycle_at.add(at)
            self.kernel.at(at, self._cycle, CYCLE)

    def _cycle(self, k: kernel.Kernel) -> None:
        self.cycle_at.discard(k.now)
        if not self.scheduler.pending:
            return
        result = self.scheduler.cycle(k.now)
        if result.preempted:
            raise RuntimeError("the topology replay runs without preemption")
        for a in result.admitted:
            self._start(a.job, a.start_at, k)
        if result.admitted:
            self._record(k.now)

    def _start(self, job: workload.Job, start: float, k: kernel.Kernel) -> None:
        spec = self.specs[job.name]
        shape = tuple(p.num_gpu for p in job.workload.pods)
        gpus = [(p.node, g) for p in job.placed for g in p.gpus]
        level = self.tree.span(gpus)
        leaf = int(self.tree.gpu_leaf[gpus[0]]) if level == self.tree.leaf_level else None
        ideal = self._ideal(shape)
        stretch = self.training.stretch(
            spec.gpus, self.tree.bandwidth(level, leaf), self.tree.bandwidth(ideal)
        )
        self.running[job.name] = (start, level, stretch)
        k.at(start + spec.duration * stretch, self._complete(job.name), COMPLETION)

    def _complete(self, name: str) -> kernel.Action:
        def complete(k: kernel.Kernel) -> None:
            self.scheduler.finish(name, k.now)
            del self.scheduler.jobs[name]
            spec = self.specs[name]
            start, level, stretch = self.running.pop(name)
            shape = self._pods(spec.gpus)
            self.outcomes.append(
                Outcome(
                    name,
                    spec.gpus,
                    spec.submit,
                    spec.duration,
                    start,
                    k.now,
                    self.tree.levels[level].name,
                    self.tree.levels[self._ideal(shape)].name,
                    stretch,
                )
            )
            self._record(k.now)
            self._request_cycle(k.now)

        return complete

    def _record(self, now: float) -> None:
        """Integrate free and stranded GPUs up to now (within the arrival span, while load
        is offered), then take the new state."""
        if self.last is not None:
            then, free, stranded = self.last
            seconds = max(0.0, min(now, self.window[1]) - then)
            self.area[0] += seconds * free
            self.area[1] += seconds * stranded
        whole = self.scheduler.snap.gpu_free == pods.MILLI
        leaves = self.tree.gpu_leaf[:, : whole.shape[1]]
        per_leaf = np.bincount(leaves[whole & (leaves >= 0)], minlength=len(self.tree.leaf_size))
        per_leaf = per_leaf.astype(np.int64)
        stranded = placement.stranded(self.tree, per_leaf, self.reference, self.reference_level)
        self.last = (now, int(per_leaf.sum()), stranded)

    def run(self, placer_name: str) -> Result:
        started = time.perf_counter()
        first, last = self.window
        self.last = (first, self.fabric.gpus, self._stranded_empty())
        self.kernel.run()
        self._record(last)
        span = (last - first) or 1.0
        return Result(
            placer_name,
            self.fabric,
            tuple(sorted(self.outcomes, key=lambda o: (o.submit, o.name))),
            self.area[1] / span,
            self.area[0] / span,
            sum(self.reference),
            tuple(self.skipped),
            tuple(sorted(self.scheduler.jobs)),
            time.perf_counter() - started,
        )

    def _stranded_empty(self) -> int:
        return placement.stranded(
            self.tree, self.tree.leaf_size, self.reference, self.reference_level
        )


def replay(
    trace: Sequence[jobs.ReplayJob],
    fabric: Fabric,
    placer_name: str,
    training: communication.Training | None = None,
    seed: int = 0,
    policy: str = "besteffort-fifo",
    reference: int | None = None,
) -> Result:
    """Replay `trace` to completion with one placer. `reference` is the GPU count of the gang
    fragmentation is measured for (default: one node's worth)."""
    if placer_name not in PLACERS:
        raise ValueError(f"unknown placer {placer_name!r}; known: {', '.join(PLACERS)}")
    chosen = policies.get(policy)
    if chosen.preemptive:
        raise ValueError(f"policy {policy} preempts; the topology replay runs without")
    gang = reference if reference is not None else fabric.gpus_per_node
    if not 1 <= gang <= fabric.gpus:
        raise ValueError(f"the reference gang must have 1..{fabric.gpus} GPUs, not {gang}")
    run = _Replay(
        trace, fabric, placer_name, training or communication.Training(), chosen, seed, gang
    )
    return run.run(placer_name)
