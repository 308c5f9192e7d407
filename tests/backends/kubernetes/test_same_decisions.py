"""One scenario — four nodes in two racks, two queues in a cohort, a 4-pod gang that must
sit in one rack and two more gangs — decided by the embedded plane (manifests applied to
the store, its admission controller) and by the Kubernetes backend (the same cluster as
GFD-labelled Nodes and labelled Pods on an API server over HTTP): the same gangs are
admitted, on the same nodes, and the one left waiting gives the same reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import kmock
import pytest

from k8s4ai import testing
from k8s4ai.api import gang
from k8s4ai.backends.kubernetes import controller
from tests.backends.kubernetes.apiserver import ApiServer
from tests.backends.kubernetes.kube import H100_CLASS, gang_pods, kube_node, kube_queue
from tests.controllers.cluster import START, Clock, apply, open_store, settle

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio,
    pytest.mark.kmock(cls=kmock.KubernetesScaffold),
]

NODES = {"gpu-0": "r1", "gpu-1": "r1", "gpu-2": "r2", "gpu-3": "r2"}
GANGS = (
    # name, queue, pods, GPUs per pod, required topology level
    ("train", "team-a", 4, 4, "rack"),
    ("big", "team-b", 4, 8, None),
    ("eval", "team-b", 2, 4, None),
)
Decisions = dict[str, list[str] | str]
"""Per gang: the node of each pod, or why it waits."""


def _sim_node(name: str, rack: str) -> dict[str, Any]:
    spec = {
        "cpu": "192",
        "memory": "2Ti",
        "gpus": [{"acceleratorClass": H100_CLASS, "count": 8}],
        "topologyName": "default",
        "topology": {"zone": "z1", "rack": rack, "node": name},
    }
    return {
        "apiVersion": "k8s4ai.io/v1alpha1",
        "kind": "Node",
        "metadata": {"name": name},
        "spec": spec,
    }


def _sim_gang(name: str, queue: str, count: int, gpus: int, level: str | None) -> dict[str, Any]:
    resources = {"cpu": "16", "memory": "64Gi", "gpus": gpus}
    spec: dict[str, Any] = {
        "queue": queue,
        "podSets": [{"name": "pods", "count": count, "resources": resources}],
        "minMember": count,
    }
    if level:
        spec["topology"] = {"required": level}
    return {
        "apiVersion": "k8s4ai.io/v1alpha1",
        "kind": "GangSchedulingGroup",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": spec,
    }


def simulated(tmp_path: Path) -> Decisions:
    clock = Clock()
    with open_store(tmp_path / "k8s4ai.db", clock) as store:
        apply(
            store,
            testing.accelerator_class(H100_CLASS),
            testing.topology(),
            *(_sim_node(n, r) for n, r in NODES.items()),
            testing.queue("team-a", gpus=16, accelerator=H100_CLASS, cohort="research"),
            testing.queue("team-b", gpus=16, accelerator=H100_CLASS, cohort="research"),
        )
        for spec in GANGS:
            apply(store, _sim_gang(*spec))
            clock.tick(1)
        settle(store, clock)
        out: Decisions = {}
        for obj in store.list("GangSchedulingGroup", "team-a").items:
            assert isinstance(obj, gang.GangSchedulingGroup)
            cond = obj.status.condition("Admitted")
            assert cond is not None
            nodes = [n for a in obj.status.assignments for n in a.nodes]
            out[obj.metadata.name] = nodes if cond.status == "True" else cond.message
        return out


async def on_kubernetes(kmock: kmock.KubernetesScaffold, api: Any) -> Decisions:
    server = ApiServer(kmock)
    for name, rack in NODES.items():
        server.put("nodes", kube_node(name, rack=rack))
    for q in ("team-a", "team-b"):
        server.put("queues", kube_queue(q, gpus=16, cohort="research"))
    for i, (name, queue, count, gpus, level) in enumerate(GANGS):
        created = (START + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pods = gang_pods(name, count, queue, gpus=gpus, created=created)
        for pod in pods:
            if level:
                pod["metadata"]["annotations"]["k8s4ai.io/topology-required"] = level
            server.put("pods", pod)
    clock = Clock()
    clock.tick(len(GANGS))
    ctl = controller.Controller(api, clock=clock)
    await ctl.nodes.relist()
    for _ in range(5):  # until a pass binds nothing, as `settle` runs the embedded plane
        await ctl.pods.relist()
        result = await ctl.run_once()
        if not result.bound:
            break
    out: Decisions = {}
    for name, _, count, *_ in GANGS:
        nodes = [server.node_of("team-a", f"{name}-{i}") or "" for i in range(count)]
        out[name] = nodes if all(nodes) else result.waiting[f"team-a/{name}"]
    return out


async def test_both_backends_make_the_same_decisions(
    tmp_path: Path, kmock: kmock.KubernetesScaffold, api: Any
) -> None:
    sim = simulated(tmp_path)
    kube = await on_kubernetes(kmock, api)
    assert kube == sim
    train, eval_ = sim["train"], sim["eval"]
    assert isinstance(train, list) and len({NODES[n] for n in train}) == 1, "one rack"
    assert isinstance(eval_, list) and len(eval_) == 2
    assert isinstance(sim["big"], str)
