"""One cluster — two nodes of eight H100s at $3/h, two gangs labelled by team and experiment,
a budget on their queue — run for three hours by the embedded plane (manifests in the store,
its admission and cost controllers) and by the Kubernetes backend (GFD-labelled Nodes and
labelled Pods on an API server over HTTP, its scheduler and cost loops): the same cost per
team and experiment, the same idle, the same bill and the same spending on the budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kmock
import pytest

from k8s4ai import testing
from k8s4ai.backends.kubernetes import controller, costs
from k8s4ai.controllers import cost_controller
from k8s4ai.finops import allocation, pricing, view
from tests.backends.kubernetes.apiserver import ApiServer
from tests.backends.kubernetes.kube import H100_CLASS, gang_pods, kube_node, kube_queue
from tests.controllers.cluster import START, Clock, apply, open_store, settle

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio,
    pytest.mark.kmock(cls=kmock.KubernetesScaffold),
]

HOURS = 3
PRICE = 3.0
NODES = ("gpu-0", "gpu-1")
GANGS = (
    # name, pods, GPUs per pod, labels
    ("train", 2, 4, {"team": "a", "experiment": "sft"}),
    ("eval", 1, 2, {"team": "b", "experiment": "evals"}),
)
BUDGET = {
    "apiVersion": "k8s4ai.io/v1alpha1",
    "kind": "Budget",
    "metadata": {"name": "cap"},
    "spec": {"queues": ["team-a"], "amount": 10**6, "period": "total"},
}
Costs = tuple[dict[tuple[str, ...], tuple[int, ...]], tuple[int, ...], float]
"""Cents per (team, experiment) line and kind, the bill per kind, and the budget's spent."""


def report(costs_now: view.CostView) -> tuple[dict[tuple[str, ...], tuple[int, ...]],
                                                tuple[int, ...]]:
    window = allocation.Window(START.timestamp(), costs_now.now)
    rep = allocation.allocate(costs_now.ledger, costs_now.prices, window, ["team", "experiment"])
    return {line.key: line.cents for line in rep.lines}, rep.bill


def _sim_gang(name: str, count: int, gpus: int, labels: dict[str, str]) -> dict[str, Any]:
    resources = {"cpu": "16", "memory": "64Gi", "gpus": gpus}
    return {
        "apiVersion": "k8s4ai.io/v1alpha1",
        "kind": "GangSchedulingGroup",
        "metadata": {"name": name, "namespace": "team-a", "labels": labels},
        "spec": {"queue": "team-a", "minMember": count,
                 "podSets": [{"name": "pods", "count": count, "resources": resources}]},
    }


def simulated(tmp_path: Path) -> Costs:
    clock = Clock()
    with open_store(tmp_path / "k8s4ai.db", clock) as store:
        nodes = [testing.node(n, accelerator=H100_CLASS, rack="r1") for n in NODES]
        for n in nodes:
            n["spec"]["cpu"], n["spec"]["memory"] = "192", "2Ti"
        apply(
            store,
            testing.accelerator_class(H100_CLASS, pricePerHour=PRICE),
            testing.topology(),
            *nodes,
            testing.queue("team-a", gpus=16, accelerator=H100_CLASS),
            BUDGET,
            *(_sim_gang(*g) for g in GANGS),
        )
        settle(store, clock)
        ledger = cost_controller.CostController(store, tmp_path, "k8s4ai", clock=clock)
        ledger.run_once()
        clock.tick(HOURS * 3600)
        ledger.run_once()
        lines, bill = report(ledger.view())
        found = store.get("Budget", "cap")
        assert found is not None
        return lines, bill, found.model_dump()["status"]["spent"]


async def on_kubernetes(kmock: kmock.KubernetesScaffold, api: Any, tmp_path: Path) -> Costs:
    created = START.strftime("%Y-%m-%dT%H:%M:%SZ")
    server = ApiServer(kmock)
    for name in NODES:
        node = kube_node(name, rack="r1")
        node["metadata"]["creationTimestamp"] = created
        server.put("nodes", node)
    server.put("queues", kube_queue("team-a", gpus=16))
    server.put("acceleratorclasses", {
        "apiVersion": "k8s4ai.io/v1alpha1", "kind": "AcceleratorClass",
        "metadata": {"name": H100_CLASS},
        "spec": {"model": "H100-TEST", "vram": "80Gi", "pricePerHour": PRICE},
    })
    server.put("budgets", BUDGET)
    for name, count, gpus, labels in GANGS:
        for pod in gang_pods(name, count, "team-a", gpus=gpus, created=created):
            pod["metadata"]["labels"].update(labels)
            server.put("pods", pod)
    clock = Clock()
    ctl = controller.Controller(api, clock=clock)
    await ctl.nodes.relist()
    await ctl.pods.relist()
    result = await ctl.run_once()
    assert set(result.bound) == {f"team-a/{g[0]}" for g in GANGS}
    await ctl.pods.relist()
    loop = costs.CostLoop(api, ctl.pods, ctl.nodes, tmp_path / "cluster-ledger", clock=clock)
    await loop.run_once()
    clock.tick(HOURS * 3600)
    await loop.run_once()
    assert loop.last_view is not None
    lines, bill = report(loop.last_view)
    found = server.get("budgets", None, "cap")
    assert found is not None
    return lines, bill, found["status"]["spent"]


async def test_both_backends_cost_the_same_run_the_same(
    tmp_path: Path, kmock: kmock.KubernetesScaffold, api: Any
) -> None:
    sim = simulated(tmp_path)
    kube = await on_kubernetes(kmock, api, tmp_path)
    assert kube == sim
    lines, bill, spent = sim
    gpu = allocation.KINDS.index(pricing.ResourceKind.GPU)
    assert lines[("a", "sft")][gpu] == 2 * 4 * PRICE * HOURS * 100
    assert lines[("b", "evals")][gpu] == 2 * PRICE * HOURS * 100
    assert bill[gpu] == 16 * PRICE * HOURS * 100
    held = sum(sum(c) for k, c in lines.items() if allocation.IDLE not in k) / 100
    assert spent == pytest.approx(held, abs=0.02), "each report rounds its own lines"
