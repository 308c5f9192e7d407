"""API objects in the units the admission core computes with: a Node becomes a snapshot row,
a Queue its quota limits, a GangSchedulingGroup a Workload of pod requests.

What the core cannot express is mapped to the closest thing it can, and said here:
- A node holds one GPU model in the snapshot: a node with GPUs of several classes is entered
  with its largest group's class (the other GPUs are left out of placement).
- A MIG slice is a fraction of one GPU: its compute slices over 7, rounded down
  (`vram.mig.milli_gpu`: a 1g.10gb is 142 milli-GPU, so seven fill one GPU). That share only
  checks compute slices; the placer (`vram.mig_placer`) also keeps each GPU's instances a
  valid layout, knowing each MIG pod's profile from `mig_profiles`. A fractional pod that
  names `vram` takes at least that share of its class's memory.
- A gang's GPUs are charged to one accelerator class (its quota flavor): the class its GPU pod
  sets name, or, when they name none, the queue's first GPU class (unless the queue has a
  class-less GPU quota), and the pods are then kept to that class's nodes.
- `interval: auto` checkpoints every 30 minutes until failures are observed; restoring a
  checkpoint is taken to last as long as writing one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from k8s4ai.api import accelerator, checkpoint, gang, node, queue, units
from k8s4ai.api import workload as api_workload
from k8s4ai.scheduler import checkpointing as ckpt
from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import quota, workload
from k8s4ai.scheduler.vram import mig

MIB = 2**20


def seconds(at: datetime | None) -> float:
    """A timestamp as the float seconds the core computes with (0 for unknown)."""
    return at.timestamp() if at is not None else 0.0


def job_key(obj: gang.GangSchedulingGroup) -> str:
    """A gang's name in the scheduler: unique across namespaces."""
    return f"{obj.metadata.namespace or 'default'}/{obj.metadata.name}"


def gpu_class(n: node.Node) -> tuple[str, int]:
    """The class and count of the node's largest GPU group ("", 0 without GPUs)."""
    counts: dict[str, int] = {}
    for group in n.spec.gpus:
        counts[group.accelerator_class] = counts.get(group.accelerator_class, 0) + group.count
    if not counts:
        return "", 0
    cls = max(counts, key=lambda c: counts[c])
    return cls, counts[cls]


def node_spec(n: node.Node) -> snapshot.NodeSpec:
    cls, count = gpu_class(n)
    return snapshot.NodeSpec(
        n.metadata.name, n.spec.cpu.millis, int(n.spec.memory.value / MIB), count, cls
    )


def fenced(n: node.Node) -> str | None:
    """Why no new pod may start on the node (cordoned, or a taint no pod tolerates), or None.
    Pods carry no tolerations, so a NoSchedule or NoExecute taint fences the node."""
    if n.spec.unschedulable:
        return "cordoned"
    for taint in n.spec.taints:
        if taint.effect in ("NoSchedule", "NoExecute"):
            return f"tainted {taint.key}={taint.value}:{taint.effect}"
    return None


def amount(resource: str, quantity: units.Quantity) -> float:
    """A quota in the units usage is charged in: GPUs, CPU cores, memory MiB."""
    if resource == "memory":
        return float(quantity.value / MIB)
    return float(quantity.value)


def queue_quota(q: queue.Queue) -> quota.QueueQuota:
    limits: dict[workload.ResourceKey, quota.Limits] = {}
    for rq in q.spec.quotas:
        if rq.resource == "vram":
            continue
        limits[(rq.resource, rq.accelerator_class)] = quota.Limits(
            amount(rq.resource, rq.nominal),
            None if rq.borrowing_limit is None else amount(rq.resource, rq.borrowing_limit),
            None if rq.lending_limit is None else amount(rq.resource, rq.lending_limit),
        )
    return quota.QueueQuota(q.metadata.name, q.spec.cohort, q.spec.weight, limits)


def checkpointing(
    policy: checkpoint.CheckpointPolicy | None,
    gpus: int = 1,
    seen: ckpt.FailureRate | None = None,
) -> workload.Checkpointing:
    """What a preemption costs the job: without a policy (or with `resume: none`) it loses
    all its progress. `auto` intervals follow the failure rate `seen` on the fleet; until
    something records failures, the public prior (`checkpointing.meta_prior`)."""
    if policy is None or policy.spec.resume == "none":
        return workload.Checkpointing(None, 0.0, 0.0, before_preemption=False, grace=0.0)
    spec = policy.spec
    interval = ckpt.interval(spec, max(1, gpus), seen or ckpt.meta_prior())
    return workload.Checkpointing(
        interval,
        spec.checkpoint_duration.seconds,
        ckpt.restore_seconds(spec),
        spec.before_preemption,
        spec.preemption_grace_period.seconds,
    )


def flavor(obj: gang.GangSchedulingGroup, q: queue.Queue | None) -> str | None:
    """The accelerator class the gang's GPUs are charged to (see the module docstring)."""
    named = {
        p.resources.accelerator_class
        for p in obj.spec.pod_sets
        if p.resources.wants_gpu and p.resources.accelerator_class
    }
    if named:
        return named.pop() if len(named) == 1 else None
    if q is None or not any(p.resources.wants_gpu for p in obj.spec.pod_sets):
        return None
    gpu_quotas = [r.accelerator_class for r in q.spec.quotas if r.resource == "gpu"]
    if None in gpu_quotas or not gpu_quotas:
        return None
    return gpu_quotas[0]


def gpu_share(
    res: api_workload.PodResources, classes: Mapping[str, accelerator.AcceleratorClass]
) -> tuple[int, int]:
    """(num_gpu, milli-GPU per GPU) of one pod."""
    cls = classes.get(res.accelerator_class or "")
    if res.mig_profile is not None:
        profile = cls.spec.mig_profile(res.mig_profile) if cls is not None else None
        slices = profile.compute_slices if profile is not None else int(res.mig_profile[0])
        return 1, mig.milli_gpu(slices)
    if res.gpus >= 1:
        return int(res.gpus), pods.MILLI
    if res.gpus == 0:
        return 0, 0
    milli = round(res.gpus * pods.MILLI)
    if res.vram is not None and cls is not None and cls.spec.vram.value:
        milli = max(milli, math.ceil(res.vram.value / cls.spec.vram.value * pods.MILLI))
    return 1, min(milli, pods.MILLI)


def pod_name(key: str, pod_set: str, index: int) -> str:
    return f"{key}/{pod_set}/{index}"


def pod_set_of(pod: pods.PodRequest) -> tuple[str, int]:
    """(pod set, index) of a pod named by `pod_name`."""
    _, pod_set, index = pod.name.rsplit("/", 2)
    return pod_set, int(index)


def pod_requests(
    obj: gang.GangSchedulingGroup,
    cls: str | None,
    classes: Mapping[str, accelerator.AcceleratorClass],
) -> tuple[pods.PodRequest, ...]:
    key = job_key(obj)
    out = []
    for pod_set in obj.spec.pod_sets:
        res = pod_set.resources
        num_gpu, milli = gpu_share(res, classes)
        model = res.accelerator_class or cls
        models = frozenset({model}) if num_gpu and model else None
        for index in range(pod_set.count):
            out.append(
                pods.PodRequest(
                    pod_name(key, pod_set.name, index),
                    res.cpu.millis,
                    int(res.memory.value / MIB),
                    num_gpu,
                    milli,
                    models,
                )
            )
    return tuple(out)


def mig_profiles(obj: gang.GangSchedulingGroup) -> dict[str, str]:
    """The MIG profile of each of the gang's MIG pods, by pod name."""
    key = job_key(obj)
    return {
        pod_name(key, pod_set.name, index): pod_set.resources.mig_profile
        for pod_set in obj.spec.pod_sets
        if pod_set.resources.mig_profile is not None
        for index in range(pod_set.count)
    }


def mig_geometry(
    n: node.Node, classes: Mapping[str, accelerator.AcceleratorClass]
) -> mig.Geometry | None:
    """The MIG profiles of the GPUs the node is entered with (see `node_spec`)."""
    cls = classes.get(gpu_class(n)[0])
    return mig.geometry(cls.spec) if cls is not None else None


def to_workload(
    obj: gang.GangSchedulingGroup,
    q: queue.Queue | None,
    policy: checkpoint.CheckpointPolicy | None,
    classes: Mapping[str, accelerator.AcceleratorClass],
) -> workload.Workload:
    cls = flavor(obj, q)
    return workload.Workload(
        name=job_key(obj),
        queue=obj.spec.queue,
        pods=pod_requests(obj, cls, classes),
        priority=obj.spec.priority,
        min_member=obj.spec.min_member,
        submitted=seconds(obj.metadata.creation_timestamp),
        accelerator_class=cls,
        checkpointing=checkpointing(policy, math.ceil(obj.spec.total_gpus())),
    )
