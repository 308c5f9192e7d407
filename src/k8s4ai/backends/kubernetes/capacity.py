"""What pods k8s4ai does not place leave of each node.

k8s4ai shares the cluster with kube-scheduler (and DaemonSets, and static pods): their pods
hold CPU, memory and GPUs that k8s4ai's inventory must not offer again. Their requests are
taken off the Node's allocatable before discovery reads it, so admission sees the same
node shrunk rather than a second kind of occupant. k8s4ai's own bound pods are not taken
off: their gangs are charged as running where they are.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any

from k8s4ai.api import units
from k8s4ai.backends.kubernetes import workloads


def _held(
    pods: Iterable[Mapping[str, Any]], ours: Collection[tuple[str, str]]
) -> dict[str, list[Decimal]]:
    """Per node: [cpu cores, memory bytes, GPUs] requested by bound, unfinished pods not ours."""
    held: dict[str, list[Decimal]] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        meta = pod.get("metadata") or {}
        key = (meta.get("namespace") or "default", meta.get("name", ""))
        if not node or key in ours or (pod.get("status") or {}).get("phase") in workloads.DONE:
            continue
        wanted = workloads.requests(pod)
        row = held.setdefault(node, [Decimal(0), Decimal(0), Decimal(0)])
        row[0] += units.Quantity(wanted["cpu"]).value
        row[1] += units.Quantity(wanted["memory"]).value
        row[2] += wanted["gpus"]
    return held


def left(
    nodes: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    ours: Collection[tuple[str, str]],
) -> list[dict[str, Any]]:
    """The Nodes with other pods' requests taken off `status.allocatable` (never below 0)."""
    held = _held(pods, ours)
    out = []
    for node in nodes:
        used = held.get(node["metadata"]["name"])
        if used is None:
            out.append(dict(node))
            continue
        shrunk = copy.deepcopy(dict(node))
        allocatable = shrunk.setdefault("status", {}).setdefault("allocatable", {})
        for name, amount in zip(("cpu", "memory", workloads.GPU), used, strict=True):
            if name not in allocatable:
                continue
            rest = max(Decimal(0), units.Quantity(str(allocatable[name])).value - amount)
            allocatable[name] = f"{int(rest * 1000)}m" if name == "cpu" else str(int(rest))
        out.append(shrunk)
    return out
