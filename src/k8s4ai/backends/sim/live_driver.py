"""The users of the live simulated cluster: jobs from a trace-shaped generator, submitted to
the team queues the store holds, as GangSchedulingGroups a person can read.

The arrivals (`Draw`s: when, how many GPUs, how much work) come from outside, in cluster
seconds — `k8s4ai up` passes the built-in generator's, fitted to the public traces — and are
played `speed` times faster than the wall clock. Each job goes to a queue and accelerator
class at random, weighted by the class's GPUs in the cluster and, within a class, by the
queues' nominal quotas, so every class sees about the same offered load; a job larger than
a queue's nominal quota of a class (or the class's GPUs) is not submitted there, as teams
size jobs to what they are guaranteed rather than to what they might borrow. While more
than `max_backlog` generated jobs wait, new arrivals are turned away, as users stop
submitting to a queue that does not move.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from k8s4ai.api import checkpoint, gang, inference, meta, node, queue
from k8s4ai.api.units import Quantity
from k8s4ai.backends.sim import live_progress

SOURCE = "sim.k8s4ai.io/workload"
"""Label on every generated gang (value `live`), so they can be listed and collected."""
SEQUENCE = "sim.k8s4ai.io/sequence"
"""Annotation: the job's number, which also ends its name."""
REQUEST_SHARE = 0.5
"""Share of a node's CPU and memory per GPU that a job asks for with each GPU."""


@dataclass(frozen=True, slots=True)
class Draw:
    submit_seconds: float
    work_seconds: float
    gpus: int


@dataclass(frozen=True, slots=True)
class Target:
    """A queue and accelerator class jobs are submitted to, and the shape of their pods."""

    queue: str
    namespace: str
    team: str
    accelerator_class: str
    weight: float
    per_node: int
    """Whole GPUs of the class on its largest node: the most one pod asks for."""
    max_gpus: int
    cpu_per_gpu: int
    memory_per_gpu_gib: int
    checkpoint_policy: str | None


@dataclass(frozen=True, slots=True)
class Model:
    project: str
    model: str
    tasks: tuple[str, ...]


CATALOG: dict[str, tuple[Model, ...]] = {
    "small": (
        Model("llama", "llama-3.1-8b", ("eval", "lora", "sweep")),
        Model("qwen", "qwen2.5-7b", ("eval", "lora", "distill")),
        Model("search", "e5-large", ("embed", "finetune")),
        Model("speech", "whisper-large-v3", ("finetune", "eval")),
    ),
    "node": (
        Model("llama", "llama-3.1-8b", ("sft", "dpo")),
        Model("qwen", "qwen2.5-14b", ("sft", "rm")),
        Model("mistral", "mistral-7b", ("sft", "distill")),
    ),
    "multi": (
        Model("llama", "llama-3.1-70b", ("sft", "pretrain", "rlhf")),
        Model("mixtral", "mixtral-8x7b", ("pretrain", "sft")),
        Model("qwen", "qwen2.5-72b", ("sft", "dpo")),
    ),
}
LEARNING_RATES = ("1e-5", "2e-5", "3e-5", "5e-5", "1e-4")


def targets(
    queues: Sequence[queue.Queue],
    nodes: Sequence[node.Node],
    policies: Sequence[checkpoint.CheckpointPolicy],
    services: Sequence[inference.InferenceService] = (),
) -> list[Target]:
    """Where jobs go: every (queue, class) with a GPU quota on a class the cluster has whole
    GPUs of, less those its inference services' replicas take. A job checkpoints with a
    policy of its namespace, if there is one."""
    whole: dict[str, int] = {}
    per_node: dict[str, int] = {}
    shape: dict[str, tuple[int, int]] = {}
    for n in nodes:
        counts: dict[str, int] = {}
        for group in n.spec.gpus:
            if not group.mig_layout:
                cls = group.accelerator_class
                counts[cls] = counts.get(cls, 0) + group.count
        for cls, count in counts.items():
            whole[cls] = whole.get(cls, 0) + count
            if count > per_node.get(cls, 0):
                per_node[cls] = count
                gpus = sum(g.count for g in n.spec.gpus)
                shape[cls] = (
                    max(1, int(n.spec.cpu.cores / gpus * REQUEST_SHARE)),
                    max(1, int(n.spec.memory.gib / gpus * REQUEST_SHARE)),
                )
    for svc in services:
        serves = svc.spec.resources.accelerator_class
        if serves in whole:
            whole[serves] -= math.ceil(svc.spec.replicas * svc.spec.resources.gpus)
    whole = {cls: count for cls, count in whole.items() if count > 0}
    nominal: dict[tuple[str, str], float] = {}
    for q in queues:
        for rq in q.spec.quotas:
            wanted = rq.accelerator_class
            if rq.resource == "gpu" and wanted in whole and float(rq.nominal.value) > 0:
                nominal[(q.metadata.name, wanted)] = float(rq.nominal.value)
    ckpts: dict[str, str] = {}
    for p in sorted(policies, key=lambda p: p.metadata.name):
        ckpts.setdefault(p.metadata.namespace or "default", p.metadata.name)
    by_name = {q.metadata.name: q for q in queues}
    out = []
    for (name, cls), quota in sorted(nominal.items()):
        share = quota / sum(v for (_, c), v in nominal.items() if c == cls)
        q = by_name[name]
        namespace = q.spec.namespaces[0] if q.spec.namespaces else name
        cpu, memory = shape[cls]
        out.append(
            Target(
                queue=name,
                namespace=namespace,
                team=q.metadata.labels.get("team", name),
                accelerator_class=cls,
                weight=whole[cls] * share,
                per_node=per_node[cls],
                max_gpus=int(min(quota, whole[cls])),

                cpu_per_gpu=cpu,
                memory_per_gpu_gib=memory,
                checkpoint_policy=ckpts.get(namespace),
            )
        )
    return out


def capacity(chosen: Sequence[Target]) -> float:
    """GPUs the targets share: their weights add up to the classes' whole GPUs."""
    return sum(t.weight for t in chosen)


def load_scale(
    sample: Sequence[Draw], span_seconds: float, chosen: Sequence[Target], load: float
) -> float:
    """The factor on the generator's arrival rate that offers `load` × capacity in GPU-time,
    counting only jobs some target takes, from a sample drawn over `span_seconds`."""
    largest = max((t.max_gpus for t in chosen), default=0)
    offered = sum(d.gpus * d.work_seconds for d in sample if d.gpus <= largest)
    if offered <= 0 or span_seconds <= 0:
        raise ValueError("the sample offers no work any queue could take")
    return load * capacity(chosen) * span_seconds / offered


class Driver:
    """Turns due draws into gangs. `origin` is the wall time of cluster second 0."""

    def __init__(
        self,
        chosen: Sequence[Target],
        draws: Iterator[Draw],
        rng: np.random.Generator,
        speed: float,
        origin: datetime,
        first: int = 1,
        max_backlog: int = 40,
    ) -> None:
        if not chosen:
            raise ValueError("no queue has a GPU quota on a class the cluster has")
        self._targets = list(chosen)
        self._draws = draws
        self._rng = rng
        self._speed = speed
        self._origin = live_progress.seconds(origin)
        self._next: Draw | None = next(draws, None)
        self.sequence = first
        self.max_backlog = max_backlog
        self.turned_away = 0

    def due(self, now: datetime, waiting: int) -> list[gang.GangSchedulingGroup]:
        """Gangs for the draws due by `now`, given `waiting` generated jobs already pending."""
        at = live_progress.seconds(now)
        out: list[gang.GangSchedulingGroup] = []
        while self._next is not None and self._arrival(self._next) <= at:
            draw, self._next = self._next, next(self._draws, None)
            fits = [t for t in self._targets if _rounded(draw.gpus, t) <= t.max_gpus]
            if not fits:
                continue
            if waiting + len(out) >= self.max_backlog:
                self.turned_away += 1
                continue
            weights = np.array([t.weight for t in fits])
            target = fits[int(self._rng.choice(len(fits), p=weights / weights.sum()))]
            out.append(self.gang(draw, target))
        return out

    def skip(self, until: datetime) -> None:
        """Drops the draws due before `until`, as if nobody had submitted anything."""
        at = live_progress.seconds(until)
        while self._next is not None and self._arrival(self._next) < at:
            self._next = next(self._draws, None)

    def _arrival(self, draw: Draw) -> float:
        return self._origin + draw.submit_seconds / self._speed

    def gang(self, draw: Draw, target: Target) -> gang.GangSchedulingGroup:
        size = "small" if draw.gpus == 1 else "node" if draw.gpus <= target.per_node else "multi"
        models = CATALOG[size]
        model = models[int(self._rng.integers(len(models)))]
        task = model.tasks[int(self._rng.integers(len(model.tasks)))]
        lr = LEARNING_RATES[int(self._rng.integers(len(LEARNING_RATES)))]
        number = self.sequence
        self.sequence += 1
        name = f"{model.model.replace('.', '')}-{task}-{number:05d}"
        pods = max(1, math.ceil(draw.gpus / target.per_node))
        per_pod = draw.gpus if pods == 1 else target.per_node
        labels = {
            "team": target.team,
            "project": model.project,
            "experiment": f"{task}-lr{lr}",
            "model": model.model,
            SOURCE: "live",
        }
        resources = {
            "cpu": Quantity(str(target.cpu_per_gpu * per_pod)),
            "memory": Quantity(f"{target.memory_per_gpu_gib * per_pod}Gi"),
            "gpus": per_pod,
            "accelerator_class": target.accelerator_class,
        }
        spec = gang.GangSchedulingGroupSpec(
            queue=target.queue,
            pod_sets=[gang.PodSet(name="worker", count=pods, resources=resources)],
            checkpoint_policy=target.checkpoint_policy if draw.gpus > 1 else None,
        )
        metadata = meta.ObjectMeta(
            name=name,
            namespace=target.namespace,
            labels=labels,
            annotations={live_progress.WORK: f"{draw.work_seconds:.0f}", SEQUENCE: str(number)},
        )
        return gang.GangSchedulingGroup(metadata=metadata, spec=spec)


def _rounded(gpus: int, target: Target) -> int:
    """GPUs a job gets: a multi-node job fills whole nodes of the class."""
    return gpus if gpus <= target.per_node else math.ceil(gpus / target.per_node) * target.per_node


def next_sequence(gangs: Sequence[gang.GangSchedulingGroup]) -> int:
    """The number after the highest a generated gang in the store carries."""
    numbers = [
        int(text)
        for g in gangs
        if (text := g.metadata.annotations.get(SEQUENCE, "")).isdigit()
    ]
    return max(numbers, default=0) + 1
