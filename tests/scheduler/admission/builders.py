"""Hand-built queues, jobs and clusters for the admission tests, in keyword style:

    a = queue("a", cohort="c", gpu=8, lending=4)         # 4 of a's 8 GPUs are guaranteed
    s = scheduler(nodes(2), [a, queue("b", cohort="c")], "besteffort-fifo")
    s.submit(job("train", queue="a", gpus=16))            # two pods of 8 GPUs

A job of N GPUs is ⌈N/per_pod⌉ pods of `per_pod` GPUs (the remainder in the last pod), each
with one CPU and 1 GiB: the quota tests only limit GPUs unless a case lists more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import cycle, policies, quota, workload

NODE_CPU = 128_000
NODE_MEMORY = 1_048_576
GPU = ("gpu", None)


def limits(
    nominal: float, borrowing: float | None = None, lending: float | None = None
) -> quota.Limits:
    return quota.Limits(nominal, borrowing, lending)


def queue(
    name: str,
    *,
    cohort: str | None = None,
    gpu: float | None = 8,
    borrowing: float | None = None,
    lending: float | None = None,
    weight: float = 1.0,
    extra: Mapping[workload.ResourceKey, quota.Limits] | None = None,
) -> quota.QueueQuota:
    """A queue with a class-less GPU quota of `gpu` (none when None) plus `extra` keys."""
    keyed: dict[workload.ResourceKey, quota.Limits] = {}
    if gpu is not None:
        keyed[GPU] = limits(gpu, borrowing, lending)
    keyed.update(extra or {})
    return quota.QueueQuota(name, cohort, weight, keyed)


def no_checkpoint_on_notice(interval: float | None = 1800.0) -> workload.Checkpointing:
    """A job that only saves periodically: preempting it loses the work since then."""
    return workload.Checkpointing(interval=interval, before_preemption=False)


def job(
    name: str,
    *,
    queue: str = "a",
    gpus: int = 8,
    per_pod: int = 8,
    priority: int = 0,
    submitted: float = 0.0,
    min_member: int | None = None,
    cls: str | None = None,
    models: str | None = None,
    checkpointing: workload.Checkpointing | None = None,
) -> workload.Workload:
    sizes = [per_pod] * (gpus // per_pod) + ([gpus % per_pod] if gpus % per_pod else [])
    allowed = frozenset(models.split("|")) if models else None
    members = tuple(
        pods.PodRequest(f"{name}-{i}", 1000, 1024, n, pods.MILLI if n else 0, allowed)
        for i, n in enumerate(sizes or [0])
    )
    return workload.Workload(
        name,
        queue,
        members,
        priority=priority,
        min_member=min_member,
        submitted=submitted,
        accelerator_class=cls,
        checkpointing=checkpointing or workload.Checkpointing(),
    )


def nodes(
    count: int, *, gpus: int = 8, model: str = "h100", prefix: str = "n"
) -> list[snapshot.NodeSpec]:
    return [
        snapshot.NodeSpec(f"{prefix}{i}", NODE_CPU, NODE_MEMORY, gpus, model) for i in range(count)
    ]


def scheduler(
    cluster: Sequence[snapshot.NodeSpec],
    queues: Iterable[quota.QueueQuota],
    policy: str | policies.Policy = policies.DEFAULT,
) -> cycle.Scheduler:
    chosen = policies.get(policy) if isinstance(policy, str) else policy
    return cycle.Scheduler(cluster, queues, chosen, np.random.default_rng(0))


def usage(**gpus_by_class: float) -> dict[workload.ResourceKey, float]:
    """GPU usage by class: `usage(any=4)`, `usage(h100=8)`."""
    return {("gpu", None if cls == "any" else cls): n for cls, n in gpus_by_class.items()}


def running(s: cycle.Scheduler) -> set[str]:
    return set(s.running)


def free_gpus(s: cycle.Scheduler) -> int:
    return int(s.snap.gpu_free.sum()) // pods.MILLI
