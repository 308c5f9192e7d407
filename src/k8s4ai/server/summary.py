"""What a dashboard shows at a glance, computed once on the server from the objects rather than
in every browser from all of them: GPUs per accelerator class (on nodes, held by jobs), jobs
per phase, each queue's backlog and its longest-waiting job, and per node who holds its GPUs.

Definitions (the dashboard and its tests count alike because they read these):
- GPUs total: the sum over Nodes of `spec.gpus[].count`, per AcceleratorClass.
- GPUs allocated: over gangs holding their nodes (phase Admitted or Running), for each pod
  their `status.assignments` place, the pod's GPUs: whole GPUs, a fraction, or a MIG instance
  as its compute slices out of 7. Inference replicas are not counted (the API does not say
  where they run).
- Waiting: gangs in phase Pending or Preempted, each since its Admitted condition turned
  False (else since it was created). Times are returned as instants, not ages, so an answer
  stays true while the objects do not change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from k8s4ai.api import accelerator, gang, node, queue, resource, topology, workload
from k8s4ai.controllers import admission_convert, admission_state

HOLDING = admission_state.HOLDING
WAITING = ("Pending", "Preempted")
PHASES: tuple[str, ...] = get_args(gang.GangPhase)
ANY_CLASS = "(any)"
"""The class key of GPUs held by a pod set that names no AcceleratorClass."""


@dataclass(frozen=True, slots=True)
class Placement:
    """Pods of one pod set of one job on one node."""

    job: str
    pod_set: str
    node: str
    pods: int
    share: float
    """GPUs per pod."""
    accelerator_class: str | None
    mig: bool

    @property
    def gpus(self) -> float:
        return self.pods * self.share


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What the summaries need of one gang, computed once per version of it."""

    key: str
    queue: str
    phase: str
    waiting_since: datetime | None
    """Set only while the gang waits."""
    placements: tuple[Placement, ...]


def facts(
    g: gang.GangSchedulingGroup, classes: Mapping[str, accelerator.AcceleratorClass]
) -> JobFacts:
    waiting = g.status.phase in WAITING
    return JobFacts(job_key(g), g.spec.queue, g.status.phase,
                    waiting_since(g) if waiting else None, tuple(placements(g, classes)))


def job_key(obj: resource.Resource) -> str:
    return f"{obj.metadata.namespace}/{obj.metadata.name}"


def pod_share(
    resources: workload.PodResources, classes: Mapping[str, accelerator.AcceleratorClass]
) -> float:
    """GPUs one pod holds, as admission charges it (a MIG instance as compute slices / 7; an
    unknown profile by the digit it starts with, as admission reads it)."""
    if resources.mig_profile is None:
        return float(resources.gpus)
    cls = classes.get(resources.accelerator_class or "")
    profile = cls.spec.mig_profile(resources.mig_profile) if cls is not None else None
    slices = profile.compute_slices if profile is not None else int(resources.mig_profile[0])
    return slices / accelerator.MIG_COMPUTE_SLICES


def placements(
    g: gang.GangSchedulingGroup, classes: Mapping[str, accelerator.AcceleratorClass]
) -> list[Placement]:
    if g.status.phase not in HOLDING:
        return []
    sets = {s.name: s for s in g.spec.pod_sets}
    found = []
    for assignment in g.status.assignments:
        pod_set = sets.get(assignment.name)
        if pod_set is None:
            continue
        res = pod_set.resources
        share = pod_share(res, classes)
        cls = assignment.accelerator_class or res.accelerator_class
        for name, pods in Counter(assignment.nodes).items():
            found.append(Placement(job_key(g), pod_set.name, name, pods, share, cls,
                                   res.mig_profile is not None))  # fmt: skip
    return found


def waiting_since(g: gang.GangSchedulingGroup) -> datetime | None:
    admitted = g.status.condition("Admitted")
    if admitted is not None and admitted.status == "False" and admitted.last_transition_time:
        return admitted.last_transition_time
    return g.metadata.creation_timestamp


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def cluster(
    nodes: Iterable[node.Node],
    jobs: Iterable[JobFacts],
    queues: Iterable[queue.Queue],
    classes: Mapping[str, accelerator.AcceleratorClass],
) -> dict[str, Any]:
    """The summary document's body (the endpoint adds its metadata and time)."""
    capacity: dict[str, int] = defaultdict(int)
    node_count, fenced_nodes = 0, []
    for n in nodes:
        node_count += 1
        for group in n.spec.gpus:
            capacity[group.accelerator_class] += group.count
        if admission_convert.fenced(n) is not None:
            fenced_nodes.append(n.metadata.name)
    held: dict[str, float] = defaultdict(float)
    phases: Counter[str] = Counter()
    backlog: dict[str, dict[str, Any]] = {}
    oldest_in: dict[str, datetime] = {}

    def entry(name: str) -> dict[str, Any]:
        return backlog.setdefault(name, {
            "name": name, "exists": False, "cohort": None, "jobs": 0, "waiting": 0,
            "holding": 0, "oldestWaiting": None, "oldestWaitingSince": None,
        })  # fmt: skip

    oldest: tuple[datetime, str] | None = None
    for job in jobs:
        phases[job.phase] += 1
        line = entry(job.queue)
        line["jobs"] += 1
        for p in job.placements:
            held[p.accelerator_class or ANY_CLASS] += p.gpus
        if job.phase in HOLDING:
            line["holding"] += 1
        elif job.phase in WAITING:
            line["waiting"] += 1
        since = job.waiting_since
        if since is None:
            continue
        if job.queue not in oldest_in or since < oldest_in[job.queue]:
            oldest_in[job.queue] = since
            line.update(oldestWaiting=job.key, oldestWaitingSince=_iso(since))
        if oldest is None or since < oldest[0]:
            oldest = (since, job.key)
    queue_count = 0
    for q in queues:
        queue_count += 1
        entry(q.metadata.name).update(exists=True, cohort=q.spec.cohort)
    by_class = [
        {
            "name": name,
            "model": classes[name].spec.model if name in classes else None,
            "vram": str(classes[name].spec.vram) if name in classes else None,
            "total": capacity.get(name, 0),
            "allocated": round(held.get(name, 0.0), 6),
        }
        for name in sorted(set(capacity) | set(held))
    ]
    return {
        "gpus": {
            "total": sum(capacity.values()),
            "allocated": round(sum(held.values()), 6),
            "byClass": by_class,
        },
        "nodes": {"total": node_count, "fenced": sorted(fenced_nodes)},
        "jobs": {
            "total": sum(phases.values()),
            "phases": {p: phases.get(p, 0) for p in PHASES},
            "waiting": sum(phases.get(p, 0) for p in WAITING),
            "holding": sum(phases.get(p, 0) for p in HOLDING),
        },
        "queues": {"total": queue_count, "backlog": [backlog[name] for name in sorted(backlog)]},
        "oldestWaiting": None if oldest is None
        else {"job": oldest[1], "since": _iso(oldest[0])},
    }


def place(n: node.Node, domains: Mapping[str, topology.TopologyDomain]) -> list[list[str]]:
    """The node's (level, domain) pairs broader than `node`, broadest first."""
    where = n.spec.topology
    domain = domains.get(n.spec.topology_name or "default")
    levels = domain.spec.level_names() if domain is not None else list(where)
    if "node" in levels:
        levels = levels[: levels.index("node")]
    return [[level, where[level]] for level in levels if level in where]


def node_facts(n: node.Node, domains: Mapping[str, topology.TopologyDomain]) -> dict[str, Any]:
    """What occupancy says of a node beside its holders."""
    return {
        "name": n.metadata.name,
        "place": place(n, domains),
        "gpus": [g.model_dump(mode="json", exclude_none=True) for g in n.spec.gpus],
        "cpu": str(n.spec.cpu),
        "memory": str(n.spec.memory),
        "fenced": admission_convert.fenced(n),
    }


def occupancy(
    nodes: Iterable[dict[str, Any]], jobs: Iterable[JobFacts]
) -> dict[str, dict[str, Any]]:
    """Per node (by name, from `node_facts`): its GPU groups, where it sits, whether it is
    fenced, and who holds what on it (jobs in key order)."""
    described = list(nodes)
    names = {n["name"] for n in described}
    holders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for job in sorted((j for j in jobs if any(p.node in names for p in j.placements)),
                      key=lambda j: j.key):  # fmt: skip
        for p in job.placements:
            if p.node not in names:
                continue
            holders[p.node].append({
                "job": p.job, "podSet": p.pod_set, "pods": p.pods, "gpus": p.gpus,
                "share": p.share, "acceleratorClass": p.accelerator_class, "mig": p.mig,
            })  # fmt: skip
    return {n["name"]: {**n, "holders": holders.get(n["name"], [])} for n in described}
