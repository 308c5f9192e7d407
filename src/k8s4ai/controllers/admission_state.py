"""The admission core's state rebuilt from the store: the snapshot of nodes, the queues'
quota book, and every gang as a job, with the gangs that already hold nodes charged as
running.

Rebuilding from the objects on every pass (rather than keeping a scheduler in memory) makes
the store the only truth, as Kueue's cache is rebuilt from its informers: a restarted
controller charges admitted gangs where their status says they run and so never admits
twice, and `k8s4ai explain` sees exactly what the controller sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from k8s4ai.api import accelerator, budget, checkpoint, gang, node, queue, resource, topology
from k8s4ai.controllers import (
    admission_budget,
    admission_convert,
    admission_topology,
    budget_spend,
)
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import cycle, policies, reasons, workload
from k8s4ai.scheduler.vram import mig_placer

HOLDING = ("Admitted", "Running")
"""Gang phases in which it holds the nodes its assignments name."""
FINISHED = ("Succeeded", "Failed")


@dataclass(slots=True)
class State:
    scheduler: cycle.Scheduler
    nodes: list[node.Node]
    """Node objects in snapshot order (row i of the snapshot is nodes[i])."""
    gangs: dict[str, gang.GangSchedulingGroup]
    """Every gang, by scheduler name (namespace/name)."""
    queues: dict[str, queue.Queue]
    budgets: list[budget.Budget]
    workloads: dict[str, workload.Workload]
    """Every gang not finished, as the core sees it."""
    required: dict[str, str]
    """Required topology level per job."""
    fenced: dict[int, str] = field(default_factory=dict)
    resumed: set[str] = field(default_factory=set)
    """Jobs charged as running from their status."""
    orphans: set[str] = field(default_factory=set)
    """Running jobs whose queue is gone: they keep their nodes, out of admission's reach."""
    requeued: dict[str, str] = field(default_factory=dict)
    """Jobs whose status said they ran but whose placement could not be charged, and why."""
    suspended: set[str] = field(default_factory=set)
    projected: dict[str, float] = field(default_factory=dict)
    """Each job's projected cost in dollars, as budgets weigh it."""

    def node_name(self, row: int) -> str:
        return self.nodes[row].metadata.name


def _topology_order(n: node.Node) -> tuple[tuple[str, ...], str]:
    return tuple(n.spec.topology.values()), n.metadata.name


def build(
    objs: Sequence[resource.Resource],
    now: datetime,
    policy: policies.Policy,
    seed: int = 0,
) -> State:
    """The scheduler with running gangs charged and the rest submitted as pending."""
    nodes = sorted((o for o in objs if isinstance(o, node.Node)), key=_topology_order)
    queues = {o.metadata.name: o for o in objs if isinstance(o, queue.Queue)}
    budgets = [o for o in objs if isinstance(o, budget.Budget)]
    classes = {o.metadata.name: o for o in objs if isinstance(o, accelerator.AcceleratorClass)}
    ckpts = {
        (o.metadata.namespace, o.metadata.name): o
        for o in objs
        if isinstance(o, checkpoint.CheckpointPolicy)
    }
    gangs = {
        admission_convert.job_key(o): o for o in objs if isinstance(o, gang.GangSchedulingGroup)
    }
    specs = [admission_convert.node_spec(n) for n in nodes] or [snapshot.NodeSpec("", 0, 0)]
    workloads = {
        key: admission_convert.to_workload(
            g,
            queues.get(g.spec.queue),
            ckpts.get((g.metadata.namespace, g.spec.checkpoint_policy or "")),
            classes,
        )
        for key, g in gangs.items()
        if g.status.phase not in FINISHED
    }
    required = {
        key: g.spec.topology.required
        for key, g in gangs.items()
        if g.spec.topology is not None and g.spec.topology.required
    }
    labels = {key: g.metadata.labels for key, g in gangs.items()}
    projected = {
        key: budget_spend.projected(gangs[key], wl.gpus, classes.get(wl.accelerator_class or ""))
        for key, wl in workloads.items()
    }
    held = [name for name, q in queues.items() if q.spec.stop_policy != "None"]
    fenced = {
        row: why for row, n in enumerate(nodes) if (why := admission_convert.fenced(n)) is not None
    }
    gates = [_namespace_gate(queues, gangs), admission_budget.gate(budgets, labels, projected)]
    sched = cycle.Scheduler(
        specs,
        (admission_convert.queue_quota(q) for q in queues.values()),
        policy,
        np.random.default_rng(seed),
        gates,
        held,
    )
    preferred = {
        key: g.spec.topology.preferred
        for key, g in gangs.items()
        if g.spec.topology is not None
        and g.spec.topology.preferred
        and not g.spec.topology.required
    }
    sched.placer = admission_topology.Placer(
        sched.snap,
        np.random.default_rng(seed),
        nodes,
        fenced,
        required,
        preferred=preferred,
        topologies=[o for o in objs if isinstance(o, topology.TopologyDomain)],
        classes=classes,
        record=mig_placer.Record(
            [admission_convert.mig_geometry(n, classes) for n in nodes] or [None],
            {
                pod: profile
                for key in workloads
                for pod, profile in admission_convert.mig_profiles(gangs[key]).items()
            },
        ),
    )
    state = State(sched, nodes, gangs, queues, budgets, workloads, required, fenced)
    state.projected = projected
    holding = sorted(
        (k for k in workloads if _holds_nodes(gangs[k])),
        key=lambda k: (admission_convert.seconds(gangs[k].status.start_time), k),
    )
    for key in holding:
        _resume(state, workloads[key], gangs[key], now)
    _fence(sched.snap, fenced)
    for key, wl in workloads.items():
        if key in state.resumed or key in state.orphans:
            continue
        if gangs[key].spec.suspend:
            state.suspended.add(key)
            continue
        _submit(sched, wl, gangs[key], now)
    return state


def _holds_nodes(g: gang.GangSchedulingGroup) -> bool:
    return g.status.phase in HOLDING and bool(g.status.assignments) and not g.spec.suspend


def _namespace_gate(
    queues: dict[str, queue.Queue], gangs: dict[str, gang.GangSchedulingGroup]
) -> cycle.Gate:
    """A queue that lists namespaces admits jobs from those only."""

    def check(wl: workload.Workload) -> reasons.Reason | None:
        q = queues.get(wl.queue)
        namespace = gangs[wl.name].metadata.namespace or "default"
        if q is None or not q.spec.namespaces or namespace in q.spec.namespaces:
            return None
        return reasons.Reason(
            reasons.Kind.QUEUE_MISSING,
            f"queue {wl.queue} does not take jobs from namespace {namespace} (it takes: "
            f"{', '.join(q.spec.namespaces)})",
            "QueueNamespaces",
            {"queue": wl.queue, "namespace": namespace},
        )

    return check


def _submit(
    sched: cycle.Scheduler, wl: workload.Workload, g: gang.GangSchedulingGroup, now: datetime
) -> None:
    """A pending job, eligible now (even if a clock is behind its creation time); one
    preempted recently is not eligible until its checkpoint is saved."""
    job = sched.submit(wl)
    job.eligible_at = min(job.eligible_at, now.timestamp())
    job.restarts = g.status.restarts
    cond = g.status.condition("Preempted")
    if g.status.phase == "Preempted" and cond is not None and cond.status == "True":
        at = admission_convert.seconds(cond.last_transition_time)
        ckpt = wl.checkpointing
        job.eligible_at = max(job.eligible_at, at + (ckpt.write if ckpt.saves_on_notice() else 0))
        job.last_stopped = at


def _resume(
    state: State, wl: workload.Workload, g: gang.GangSchedulingGroup, now: datetime
) -> None:
    """Charge a job that holds nodes as running there (or requeue it, saying why not)."""
    sched = state.scheduler
    rows = {n.metadata.name: row for row, n in enumerate(state.nodes)}
    assert isinstance(sched.placer, admission_topology.Placer)
    placed = _place_again(sched.placer, rows, wl, g)
    if isinstance(placed, str):
        state.requeued[wl.name] = placed
        return
    if wl.queue not in sched.book.queues:
        state.orphans.add(wl.name)
        return
    start = admission_convert.seconds(g.status.start_time or now)
    job = sched.submit(wl)
    if sched.policy.gang:
        sched.book.charge(wl.queue, wl.usage())
    for p in placed:
        p.at = start
    job.placed = placed
    job.phase = workload.Phase.RUNNING
    job.started = job.progress_from = job.first_started = start
    job.restarts = g.status.restarts
    sched.pending.pop(wl.name, None)
    sched.running[wl.name] = job
    state.resumed.add(wl.name)


def _place_again(
    placer: admission_topology.Placer,
    rows: dict[str, int],
    wl: workload.Workload,
    g: gang.GangSchedulingGroup,
) -> list[workload.Placed] | str:
    """The job's pods assigned on the snapshot (and MIG pods' instances on the placer's
    record) where its status says they run, or why they no longer can be."""
    snap = placer.snap
    by_set: dict[str, list[pods.PodRequest]] = {}
    for pod in wl.pods:
        by_set.setdefault(admission_convert.pod_set_of(pod)[0], []).append(pod)
    placed: list[workload.Placed] = []

    def undo(why: str) -> str:
        placer.release(placed)
        return why

    for assignment in g.status.assignments:
        members = by_set.get(assignment.name, [])
        if len(assignment.nodes) > len(members):
            return undo(f"pod set {assignment.name} no longer matches its assignment")
        for pod, name in zip(members, assignment.nodes, strict=False):
            row = rows.get(name)
            if row is None:
                return undo(f"node {name} is gone")
            if pod.name in placer.record.profiles:
                gpus = placer.resume(row, pod)
                if gpus is None:
                    profile = placer.record.profiles[pod.name]
                    return undo(f"node {name} has no MIG {profile} slot left for pod {pod.name}")
                placed.append(workload.Placed(pod, row, gpus))
                continue
            gpus = _free_gpus(snap, row, pod, placer.record)
            if gpus is None:
                return undo(f"node {name} no longer has room for pod {pod.name}")
            try:
                snap.assign(row, pod, gpus)
            except ValueError:
                return undo(f"node {name} no longer has room for pod {pod.name}")
            placed.append(workload.Placed(pod, row, gpus))
    if len(placed) < wl.gang_size:
        return undo(f"only {len(placed)} of its {wl.gang_size} pods are assigned")
    return placed


def _free_gpus(
    snap: snapshot.ClusterSnapshot, row: int, pod: pods.PodRequest, record: mig_placer.Record
) -> tuple[int, ...] | None:
    """GPUs of the node for the pod, fullest first (a status names nodes, not devices), not
    in MIG mode."""
    if not pod.num_gpu:
        return ()
    free = snap.gpu_free[row]
    fits = [
        g
        for g in range(int(snap.gpu_count[row]))
        if free[g] >= pod.gpu_milli and (row, g) not in record.layouts
    ]
    if len(fits) < pod.num_gpu:
        return None
    fits.sort(key=lambda g: (int(free[g]), g))
    return tuple(sorted(fits[: pod.num_gpu]))


def _fence(snap: snapshot.ClusterSnapshot, fenced: dict[int, str]) -> None:
    """Take what is left on fenced nodes, so nothing new lands there; what runs stays."""
    for row in fenced:
        name = f"fence/{snap.names[row]}"
        for g in range(int(snap.gpu_count[row])):
            left = int(snap.gpu_free[row, g])
            if left:
                snap.assign(row, pods.PodRequest(name, 0, 0, 1, left), (g,))
        cpu, memory = int(snap.cpu_free[row]), int(snap.memory_free[row])
        snap.assign(row, pods.PodRequest(name, cpu, memory), ())
