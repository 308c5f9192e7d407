"""Checks that span objects: a reference names something that exists, and what a workload asks
of its hardware (a MIG profile, an amount of VRAM, a topology level) is something that
hardware offers. A batch is checked as a whole, so objects may refer to each other in any
order within one `apply`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from k8s4ai.api import (
    accelerator,
    budget,
    checkpoint,
    errors,
    gang,
    inference,
    node,
    queue,
    resource,
    routing,
    topology,
    vram,
    workload,
)

Lookup = Callable[[str, str | None, str], resource.Resource | None]
"""(kind, namespace or None for cluster-scoped, name) → the stored object, or None."""

_R = TypeVar("_R", bound=resource.Resource)


class _Resolver:
    """Finds referenced objects in the batch first, then in the store."""

    def __init__(self, batch: Sequence[resource.Resource], lookup: Lookup) -> None:
        self._batch = {obj.key: obj for obj in batch}
        self._lookup = lookup

    def find(self, kind: type[_R], name: str, namespace: str | None = None) -> _R | None:
        ns = (namespace or "default") if kind.namespaced else None
        found = self._batch.get((kind.kind_name, ns or "", name)) or self._lookup(
            kind.kind_name, ns, name
        )
        return found if isinstance(found, kind) else None


def _missing(kind: type[resource.Resource], name: str, namespace: str | None = None) -> str:
    where = f" in namespace {namespace or 'default'}" if kind.namespaced else ""
    return f"{kind.kind_name} {name!r} not found{where}"


Problems = Iterator[errors.FieldError]


def _pod_resources(res: workload.PodResources, path: str, resolver: _Resolver) -> Problems:
    if res.accelerator_class is None:
        return
    cls = resolver.find(accelerator.AcceleratorClass, res.accelerator_class)
    if cls is None:
        yield errors.FieldError(
            f"{path}.acceleratorClass",
            _missing(accelerator.AcceleratorClass, res.accelerator_class),
        )
        return
    if res.mig_profile is not None and cls.spec.mig_profile(res.mig_profile) is None:
        offered = ", ".join(p.name for p in cls.spec.mig_profiles) or "none"
        yield errors.FieldError(
            f"{path}.migProfile",
            f"AcceleratorClass {cls.metadata.name!r} has no MIG profile {res.mig_profile!r} "
            f"(it offers: {offered})",
        )
    if 0 < res.gpus < 1 and not cls.spec.allow_fractional:
        yield errors.FieldError(
            f"{path}.gpus",
            f"AcceleratorClass {cls.metadata.name!r} does not allow fractional GPUs",
        )
    if res.vram is not None and res.vram.value > cls.spec.vram.value:
        yield errors.FieldError(
            f"{path}.vram",
            f"{res.vram} per GPU is more than {cls.metadata.name!r} has ({cls.spec.vram})",
        )


def _check_node(obj: node.Node, resolver: _Resolver) -> Problems:
    for i, group in enumerate(obj.spec.gpus):
        path = f"spec.gpus[{i}]"
        cls = resolver.find(accelerator.AcceleratorClass, group.accelerator_class)
        if cls is None:
            yield errors.FieldError(
                f"{path}.acceleratorClass",
                _missing(accelerator.AcceleratorClass, group.accelerator_class),
            )
            continue
        yield from _mig_layout(group.mig_layout, cls, f"{path}.migLayout")
    if obj.spec.topology_name is not None:
        topo = resolver.find(topology.TopologyDomain, obj.spec.topology_name)
        if topo is None:
            yield errors.FieldError(
                "spec.topologyName", _missing(topology.TopologyDomain, obj.spec.topology_name)
            )
            return
        unknown = sorted(set(obj.spec.topology) - set(topo.spec.level_names()))
        if unknown:
            yield errors.FieldError(
                "spec.topology",
                f"levels {unknown} are not in TopologyDomain {topo.metadata.name!r} "
                f"(levels: {topo.spec.level_names()})",
            )


def _mig_layout(layout: list[str], cls: accelerator.AcceleratorClass, path: str) -> Problems:
    for j, name in enumerate(layout):
        if cls.spec.mig_profile(name) is None:
            offered = ", ".join(p.name for p in cls.spec.mig_profiles) or "none"
            yield errors.FieldError(
                f"{path}[{j}]",
                f"AcceleratorClass {cls.metadata.name!r} has no MIG profile {name!r} "
                f"(it offers: {offered})",
            )
            return
    problem = cls.spec.mig_layout_problem(layout)
    if problem is not None:
        yield errors.FieldError(path, problem)


def _check_gang(obj: gang.GangSchedulingGroup, resolver: _Resolver) -> Problems:
    spec, ns = obj.spec, obj.metadata.namespace
    if resolver.find(queue.Queue, spec.queue) is None:
        yield errors.FieldError("spec.queue", _missing(queue.Queue, spec.queue))
    for i, pod_set in enumerate(spec.pod_sets):
        yield from _pod_resources(pod_set.resources, f"spec.podSets[{i}].resources", resolver)
    if spec.topology is not None:
        yield from _topology_constraint(spec.topology, resolver)
    if spec.checkpoint_policy is not None:
        policy = resolver.find(checkpoint.CheckpointPolicy, spec.checkpoint_policy, ns)
        if policy is None:
            yield errors.FieldError(
                "spec.checkpointPolicy",
                _missing(checkpoint.CheckpointPolicy, spec.checkpoint_policy, ns),
            )


def _topology_constraint(constraint: gang.TopologyConstraint, resolver: _Resolver) -> Problems:
    topo = resolver.find(topology.TopologyDomain, constraint.topology_name)
    if topo is None:
        yield errors.FieldError(
            "spec.topology.topologyName",
            _missing(topology.TopologyDomain, constraint.topology_name),
        )
        return
    for field in ("required", "preferred"):
        level = getattr(constraint, field)
        if level is not None and topo.spec.level(level) is None:
            yield errors.FieldError(
                f"spec.topology.{field}",
                f"TopologyDomain {topo.metadata.name!r} has no level {level!r} "
                f"(levels: {', '.join(topo.spec.level_names())})",
            )


def _check_inference(obj: inference.InferenceService, resolver: _Resolver) -> Problems:
    spec, ns = obj.spec, obj.metadata.namespace
    yield from _pod_resources(spec.resources, "spec.resources", resolver)
    if spec.queue is not None and resolver.find(queue.Queue, spec.queue) is None:
        yield errors.FieldError("spec.queue", _missing(queue.Queue, spec.queue))
    if spec.router is not None and resolver.find(routing.ContentRouter, spec.router, ns) is None:
        yield errors.FieldError("spec.router", _missing(routing.ContentRouter, spec.router, ns))


def _check_router(obj: routing.ContentRouter, resolver: _Resolver) -> Problems:
    ns, service = obj.metadata.namespace, obj.spec.service
    if service is not None and resolver.find(inference.InferenceService, service, ns) is None:
        yield errors.FieldError("spec.service", _missing(inference.InferenceService, service, ns))


def _check_vram_pool(obj: vram.VRAMPool, resolver: _Resolver) -> Problems:
    if resolver.find(accelerator.AcceleratorClass, obj.spec.accelerator_class) is None:
        yield errors.FieldError(
            "spec.acceleratorClass",
            _missing(accelerator.AcceleratorClass, obj.spec.accelerator_class),
        )
    for i, resident in enumerate(obj.spec.resident_models):
        for j, name in enumerate(resident.nodes):
            if resolver.find(node.Node, name) is None:
                yield errors.FieldError(
                    f"spec.residentModels[{i}].nodes[{j}]", _missing(node.Node, name)
                )


def _check_queue(obj: queue.Queue, resolver: _Resolver) -> Problems:
    for i, quota in enumerate(obj.spec.quotas):
        name = quota.accelerator_class
        if name is not None and resolver.find(accelerator.AcceleratorClass, name) is None:
            yield errors.FieldError(
                f"spec.quotas[{i}].acceleratorClass",
                _missing(accelerator.AcceleratorClass, name),
            )


def _check_budget(obj: budget.Budget, resolver: _Resolver) -> Problems:
    for i, name in enumerate(obj.spec.queues):
        if resolver.find(queue.Queue, name) is None:
            yield errors.FieldError(f"spec.queues[{i}]", _missing(queue.Queue, name))


def _problems(obj: resource.Resource, resolver: _Resolver) -> Problems:
    match obj:
        case node.Node():
            yield from _check_node(obj, resolver)
        case gang.GangSchedulingGroup():
            yield from _check_gang(obj, resolver)
        case inference.InferenceService():
            yield from _check_inference(obj, resolver)
        case routing.ContentRouter():
            yield from _check_router(obj, resolver)
        case vram.VRAMPool():
            yield from _check_vram_pool(obj, resolver)
        case queue.Queue():
            yield from _check_queue(obj, resolver)
        case budget.Budget():
            yield from _check_budget(obj, resolver)
        case _:
            return


def check(objs: Sequence[resource.Resource], lookup: Lookup) -> list[tuple[int, errors.FieldError]]:
    """Every broken reference in `objs`, as (index into objs, problem)."""
    resolver = _Resolver(objs, lookup)
    return [(i, problem) for i, obj in enumerate(objs) for problem in _problems(obj, resolver)]
