"""What the cluster holds, derived from Node objects: GPUs per AcceleratorClass, domains per
TopologyDomain level, VRAM per VRAMPool, jobs waiting per Queue.

A pure function from the objects to the statuses they should have, so it is tested without a
store; the runner writes back only what changed, which keeps a quiet cluster quiet. When the
admission controller runs (`admission=True`), jobs and queues are its to write, and this one
leaves them alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from k8s4ai.api import (
    accelerator,
    gang,
    inference,
    meta,
    node,
    queue,
    resource,
    topology,
    vram,
)
from k8s4ai.api.units import Quantity
from k8s4ai.controllers import conditions

NO_SCHEDULER = (
    "no admission controller runs on this store (`k8s4ai up` runs one); the object is stored "
    "and validated, and will be admitted once one runs"
)
OUTSIDE_ADMISSION = (
    "admission does not place inference replicas yet: `k8s4ai up` runs them as mock replicas "
    "on 127.0.0.1 (the cost ledger still charges each ready replica)"
)


@dataclass(frozen=True, slots=True)
class Change:
    """A status to write, and the event worth telling a person about, if any."""

    object: resource.Resource
    reason: str
    message: str


def _gpu_groups(nodes: Iterable[node.Node]) -> Iterable[tuple[node.Node, node.GpuGroup]]:
    for n in nodes:
        for group in n.spec.gpus:
            yield n, group


def _accelerator_status(
    cls: accelerator.AcceleratorClass, nodes: list[node.Node], now: datetime
) -> tuple[accelerator.AcceleratorClassStatus, str]:
    groups = [(n, g) for n, g in _gpu_groups(nodes) if g.accelerator_class == cls.metadata.name]
    gpus = sum(g.count for _, g in groups)
    node_count = len({n.metadata.name for n, _ in groups})
    message = f"{gpus} GPUs on {node_count} node{'s' if node_count != 1 else ''}"
    cond = conditions.condition(
        "Available",
        gpus > 0,
        "Inventory" if gpus else "NoNodes",
        message,
        cls.metadata.generation,
        now,
    )
    status = accelerator.AcceleratorClassStatus(
        nodes=node_count,
        gpus=gpus,
        allocated_gpus=cls.status.allocated_gpus,
        observed_generation=cls.metadata.generation,
        conditions=[cond],
    )
    return status, message


def _topology_status(
    topo: topology.TopologyDomain, nodes: list[node.Node], now: datetime
) -> tuple[topology.TopologyDomainStatus, str]:
    members = [n for n in nodes if n.spec.topology_name == topo.metadata.name]
    domains = {
        level: len({n.spec.topology[level] for n in members if level in n.spec.topology})
        for level in topo.spec.level_names()
    }
    message = ", ".join(f"{count} {level}" for level, count in domains.items())
    cond = conditions.condition(
        "Ready",
        bool(members),
        "Inventory" if members else "NoNodes",
        f"{len(members)} nodes: {message}",
        topo.metadata.generation,
        now,
    )
    status = topology.TopologyDomainStatus(
        domains=domains, observed_generation=topo.metadata.generation, conditions=[cond]
    )
    return status, cond.message


def _vram_status(
    pool: vram.VRAMPool,
    nodes: list[node.Node],
    classes: dict[str, accelerator.AcceleratorClass],
    now: datetime,
) -> tuple[vram.VRAMPoolStatus, str]:
    cls = classes.get(pool.spec.accelerator_class)
    per_gpu = Decimal(0)
    if cls is not None:
        per_gpu = max(Decimal(0), cls.spec.vram.value - pool.spec.reserved_per_gpu.value)
    gpus = sum(
        g.count
        for n, g in _gpu_groups(nodes)
        if g.accelerator_class == pool.spec.accelerator_class
        and not g.mig_layout
        and all(n.metadata.labels.get(k) == v for k, v in pool.spec.node_selector.items())
    )
    capacity = Quantity(f"{int(per_gpu * gpus / 2**30)}Gi")
    resident = sum((m.size.value * len(m.nodes) for m in pool.spec.resident_models), Decimal(0))
    allocated = Quantity(f"{int(resident / 2**30)}Gi")
    message = f"{capacity} usable on {gpus} GPUs, {allocated} held by resident models"
    cond = conditions.condition(
        "Ready",
        gpus > 0,
        "Inventory" if gpus else "NoMatchingGPUs",
        message,
        pool.metadata.generation,
        now,
    )
    status = vram.VRAMPoolStatus(
        capacity=capacity,
        allocated=allocated,
        gpus=gpus,
        observed_generation=pool.metadata.generation,
        conditions=[cond],
    )
    return status, message


def _queue_status(
    q: queue.Queue, workloads: Sequence[resource.Resource], now: datetime
) -> tuple[queue.QueueStatus, str]:
    mine = [
        w
        for w in workloads
        if (isinstance(w, gang.GangSchedulingGroup) and w.spec.queue == q.metadata.name)
        or (isinstance(w, inference.InferenceService) and w.spec.queue == q.metadata.name)
    ]
    pending = sum(
        1
        for w in mine
        if not isinstance(w, gang.GangSchedulingGroup) or w.status.phase == "Pending"
    )
    message = f"{pending} pending, {q.status.admitted} admitted"
    cond = conditions.condition("Active", True, "Ready", message, q.metadata.generation, now)
    status = q.status.model_copy(
        update={
            "pending": pending,
            "observed_generation": q.metadata.generation,
            "conditions": [cond],
        }
    )
    return status, message


def _pending_status(
    obj: resource.Resource, now: datetime, reason: str, message: str
) -> meta.Status:
    """Jobs and services that no scheduler decides on say so rather than look stuck."""
    cond = conditions.condition("Admitted", False, reason, message, obj.metadata.generation, now)
    return obj.status.model_copy(
        update={"conditions": [cond], "observed_generation": obj.metadata.generation}
    )


def reconcile(
    objs: list[resource.Resource], now: datetime, admission: bool = False
) -> list[Change]:
    """The objects whose status should change, with the new status set."""
    nodes = [o for o in objs if isinstance(o, node.Node)]
    classes = {o.metadata.name: o for o in objs if isinstance(o, accelerator.AcceleratorClass)}
    workloads = [
        o for o in objs if isinstance(o, gang.GangSchedulingGroup | inference.InferenceService)
    ]
    changes: list[Change] = []
    for obj in objs:
        status: meta.Status
        reason, message = "", ""
        if admission and isinstance(obj, queue.Queue | gang.GangSchedulingGroup):
            continue
        match obj:
            case accelerator.AcceleratorClass():
                status, message = _accelerator_status(obj, nodes, now)
                reason = "InventoryChanged"
            case topology.TopologyDomain():
                status, message = _topology_status(obj, nodes, now)
                reason = "InventoryChanged"
            case vram.VRAMPool():
                status, message = _vram_status(obj, nodes, classes, now)
                reason = "InventoryChanged"
            case queue.Queue():
                status, message = _queue_status(obj, workloads, now)
            case gang.GangSchedulingGroup() | inference.InferenceService():
                why, message = (
                    ("ServedOutsideAdmission", OUTSIDE_ADMISSION)
                    if admission
                    else ("SchedulerNotRunning", NO_SCHEDULER)
                )
                held = obj.status.condition("Admitted")
                stale = admission and held is not None and held.reason == "SchedulerNotRunning"
                if held is not None and not stale:
                    continue
                status = _pending_status(obj, now, why, message)
                reason = "Pending"
            case _:
                continue
        status.conditions = conditions.keep_transition_time(
            obj.status.conditions, status.conditions
        )
        if status.model_dump() != obj.status.model_dump():
            changes.append(Change(obj.model_copy(update={"status": status}), reason, message))
    return changes
