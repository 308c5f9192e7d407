"""Pods that ask for k8s4ai (`schedulerName: k8s4ai`) as the gangs admission decides about.

A gang is written as a GangSchedulingGroup, the same object a user applies in the embedded
plane, so the admission controller's conversion (`controllers.admission_convert`) turns it
into the scheduler's Workload and both backends decide from identical input. Pods carry the
gang in whichever convention the tool that made them speaks:

- gang: label or annotation `k8s4ai.io/gang`, else `scheduling.x-k8s.io/pod-group` (the
  coscheduling plugin's PodGroup), else the pod is a gang of one;
- queue: `k8s4ai.io/queue`, else Kueue's `kueue.x-k8s.io/queue-name` (Kueue names a
  LocalQueue; here it names the k8s4ai Queue directly);
- min members: annotation `k8s4ai.io/min-member`, else the PodGroup's `spec.minMember`
  when the caller read it, else all pods;
- pod sets: label `k8s4ai.io/pod-set`, else one pod set per distinct resource shape;
- required topology level: annotation `k8s4ai.io/topology-required`; priority: the highest
  `spec.priority` among the pods (set by the PriorityClass admission plugin);
- labels (team, project, experiment, model..., what a Budget's selector matches): those all
  its pods carry with the same value; estimated duration (what a Budget projects the job to
  cost): annotation `k8s4ai.io/estimated-duration` (`6h`, `1h30m`).

A pod bound already (`spec.nodeName`) makes its gang Running there, so a restarted scheduler
(or a standby that takes over) charges it instead of binding it twice. A gang only partly
bound is not placed from here: the controller rolls it back (see `controller`).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic

from k8s4ai.api import gang, units

SCHEDULER_NAME = "k8s4ai"
GANG = "k8s4ai.io/gang"
POD_GROUP = "scheduling.x-k8s.io/pod-group"
QUEUE = "k8s4ai.io/queue"
KUEUE_QUEUE = "kueue.x-k8s.io/queue-name"
MIN_MEMBER = "k8s4ai.io/min-member"
POD_SET = "k8s4ai.io/pod-set"
TOPOLOGY_REQUIRED = "k8s4ai.io/topology-required"
ESTIMATED_DURATION = "k8s4ai.io/estimated-duration"
GPU = "nvidia.com/gpu"
DONE = ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True)
class Member:
    """One pod of a gang: `node` is where it is bound ("" while pending)."""

    namespace: str
    name: str
    uid: str
    node: str = ""


@dataclass(frozen=True, slots=True)
class PodGang:
    gang: gang.GangSchedulingGroup
    members: Mapping[str, tuple[Member, ...]]
    """Pods of each pod set, bound pods first: pod i of a pod set is the scheduler's pod
    `<namespace>/<gang>/<pod set>/<i>`, and a pod set's assignment lists nodes in this order."""

    @property
    def pods(self) -> tuple[Member, ...]:
        return tuple(m for members in self.members.values() for m in members)


@dataclass(frozen=True, slots=True)
class Problem:
    """A pod that asks for k8s4ai but cannot be scheduled as written, and why."""

    namespace: str
    name: str
    reason: str

    def __str__(self) -> str:
        return f"pod {self.namespace}/{self.name}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Gangs:
    gangs: tuple[PodGang, ...]
    problems: tuple[Problem, ...]


def _meta(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    meta: Mapping[str, Any] = pod.get("metadata") or {}
    return meta


def _tag(pod: Mapping[str, Any], *keys: str) -> str | None:
    """The first of `keys` set as a label or an annotation (labels first)."""
    meta = _meta(pod)
    for key in keys:
        for where in ("labels", "annotations"):
            value = (meta.get(where) or {}).get(key)
            if value:
                return str(value)
    return None


def _any_tag(pods: Iterable[Mapping[str, Any]], key: str) -> str | None:
    """A gang-wide setting: the first pod (by name) that carries it."""
    return next((v for p in pods if (v := _tag(p, key)) is not None), None)


def ours(pod: Mapping[str, Any]) -> bool:
    """Whether k8s4ai should place the pod: it asks for us, is not bound, not finished and
    not being deleted."""
    spec = pod.get("spec") or {}
    return (
        spec.get("schedulerName") == SCHEDULER_NAME
        and (pod.get("status") or {}).get("phase") not in DONE
        and not _meta(pod).get("deletionTimestamp")
    )


def requests(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The pod's PodResources (camelCase): its containers' requests summed, a limit standing
    in for a missing request as the API server defaults it (GPUs are usually given as limits
    only). Init containers run before the others and are left out."""
    cpu = memory = decimal.Decimal(0)
    gpus = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        cpu += units.Quantity(str(wanted.get("cpu", "0"))).value
        memory += units.Quantity(str(wanted.get("memory", "0"))).value
        gpus += int(units.Quantity(str(wanted.get(GPU, "0"))).value)
    return {"cpu": f"{round(cpu * 1000)}m", "memory": str(int(memory)), "gpus": gpus}


def gang_of(pod: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, gang name) the pod belongs to."""
    meta = _meta(pod)
    return meta.get("namespace") or "default", _tag(pod, GANG, POD_GROUP) or meta["name"]


def member(pod: Mapping[str, Any]) -> Member:
    meta = _meta(pod)
    node = (pod.get("spec") or {}).get("nodeName") or ""
    return Member(meta.get("namespace") or "default", meta["name"], meta.get("uid", ""), node)


def _pod_sets(pods: list[Mapping[str, Any]]) -> dict[str, tuple[dict[str, Any], list[Member]]]:
    sets: dict[str, tuple[dict[str, Any], list[Member]]] = {}
    shapes: dict[tuple[tuple[str, Any], ...], str] = {}
    for pod in pods:
        shape = requests(pod)
        name = _tag(pod, POD_SET)
        if name is None:
            key = tuple(sorted(shape.items()))
            name = shapes.setdefault(key, f"pods-{len(shapes)}" if shapes else "pods")
        sets.setdefault(name, (shape, []))[1].append(member(pod))
    return sets


def _min_member(
    pods: list[Mapping[str, Any]], key: tuple[str, str], pod_groups: Mapping[tuple[str, str], int]
) -> int | None:
    given = _any_tag(pods, MIN_MEMBER)
    if given is not None:
        try:
            return int(given)
        except ValueError:
            raise ValueError(f"{MIN_MEMBER}: {given!r} is not a whole number") from None
    return pod_groups.get(key)


def _gang(
    key: tuple[str, str], pods: list[Mapping[str, Any]], pod_groups: Mapping[tuple[str, str], int]
) -> PodGang:
    queues = {_tag(p, QUEUE, KUEUE_QUEUE) for p in pods}
    if None in queues:
        raise ValueError(f"no queue: label it {QUEUE} (or Kueue's {KUEUE_QUEUE})")
    if len(queues) > 1:
        named = ", ".join(sorted(map(str, queues)))
        raise ValueError(f"its gang's pods name different queues: {named}")
    sets = _pod_sets(pods)
    members = {
        name: tuple(sorted(ms, key=lambda m: (m.node == "", m.name)))
        for name, (_, ms) in sets.items()
    }
    min_member = _min_member(pods, key, pod_groups)
    if min_member is not None and min_member > len(pods):
        raise ValueError(f"waiting for its gang: {len(pods)} of at least {min_member} pods exist")
    created = min(str(_meta(p).get("creationTimestamp") or "") for p in pods) or None
    namespace, name = key
    spec: dict[str, Any] = {
        "queue": queues.pop(),
        "priority": max(int((p.get("spec") or {}).get("priority") or 0) for p in pods),
        "podSets": [
            {"name": n, "count": len(ms), "resources": shape} for n, (shape, ms) in sets.items()
        ],
        "minMember": min_member,
    }
    level = _any_tag(pods, TOPOLOGY_REQUIRED)
    if level:
        spec["topology"] = {"required": level}
    duration = _any_tag(pods, ESTIMATED_DURATION)
    if duration:
        spec["estimatedDuration"] = duration
    bound = {n: [m.node for m in ms if m.node] for n, ms in members.items()}
    status: dict[str, Any] = {}
    if any(bound.values()):
        status = {
            "phase": "Running",
            "queue": spec["queue"],
            "assignments": [{"name": n, "nodes": nodes} for n, nodes in bound.items() if nodes],
            "startTime": created,
        }
    obj = gang.GangSchedulingGroup.model_validate(
        {
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": created,
                "labels": _common_labels(pods),
            },
            "spec": spec,
            "status": status,
        }
    )
    return PodGang(obj, members)


def _common_labels(pods: list[Mapping[str, Any]]) -> dict[str, str]:
    first, *rest = [dict(_meta(p).get("labels") or {}) for p in pods]
    return {k: str(v) for k, v in first.items() if all(o.get(k) == v for o in rest)}


def gangs(
    pods: Iterable[Mapping[str, Any]], pod_groups: Mapping[tuple[str, str], int] | None = None
) -> Gangs:
    """The gangs of the pods that are ours (see `ours`), in (namespace, name) order; a gang
    whose pods cannot be read is left out and each of its pods reported. `pod_groups` gives
    the `spec.minMember` of PodGroups by (namespace, name)."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for pod in pods:
        if ours(pod):
            groups.setdefault(gang_of(pod), []).append(pod)
    out: list[PodGang] = []
    problems: list[Problem] = []
    for key in sorted(groups):
        pods_of = sorted(groups[key], key=lambda p: str(_meta(p)["name"]))
        try:
            out.append(_gang(key, pods_of, pod_groups or {}))
        except (ValueError, pydantic.ValidationError) as err:
            why = _first(err) if isinstance(err, pydantic.ValidationError) else str(err)
            problems.extend(Problem(key[0], _meta(p)["name"], why) for p in pods_of)
    return Gangs(tuple(out), tuple(problems))


def _first(err: pydantic.ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"
