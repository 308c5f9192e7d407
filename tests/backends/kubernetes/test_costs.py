"""Cost on a cluster, against an API server over HTTP: the cost loop keeps a ledger of the
cluster's pods in its journal and writes each Budget's spending to its status (only while
leading), a restart loses nothing and counts nothing twice, and admission holds a job a hard
Budget blocks, saying why on its pods, until the budget is raised."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import kmock
import pytest
import pytest_asyncio

from k8s4ai.backends.kubernetes import (
    calls,
    controller,
    costs,
    dcgm,
    leader,
    operator,
    reflector,
)
from k8s4ai.controllers import cost_ledger
from k8s4ai.finops import allocation, pricing
from tests.backends.kubernetes.apiserver import ApiServer
from tests.backends.kubernetes.kube import H100_CLASS, gang_pods, kube_node, kube_pod, kube_queue

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio,
    pytest.mark.kmock(cls=kmock.KubernetesScaffold),
]

HOUR = 3600.0
PRICE = 3.0
T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
CPU_PRICE = cost_ledger.CPU_MEMORY_PRICES[pricing.RateKey(pricing.ResourceKind.CPU)]
MEMORY_PRICE = cost_ledger.CPU_MEMORY_PRICES[pricing.RateKey(pricing.ResourceKind.MEMORY)]
RUNNING_HOURLY = 4 * PRICE + 16 * CPU_PRICE + 64 * MEMORY_PRICE
"""The running pod: 4 H100s, 16 cores, 64 GiB."""


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def budget(amount: float, threshold: float = 100) -> dict[str, Any]:
    return {
        "apiVersion": "k8s4ai.io/v1alpha1",
        "kind": "Budget",
        "metadata": {"name": "cap", "uid": "uid-cap", "generation": 1},
        "spec": {
            "queues": ["team-a"],
            "amount": amount,
            "period": "total",
            "thresholds": [{"percent": threshold, "action": "block-new"}],
        },
    }


def h100_class() -> dict[str, Any]:
    return {
        "apiVersion": "k8s4ai.io/v1alpha1",
        "kind": "AcceleratorClass",
        "metadata": {"name": H100_CLASS},
        "spec": {"model": "H100-SXM5-80GB", "vram": "80Gi", "pricePerHour": PRICE},
    }


def running_pod(name: str = "first", node: str = "gpu-0") -> dict[str, Any]:
    pod = kube_pod(name, gpus=4, node=node, labels={"k8s4ai.io/queue": "team-a"},
                   created=stamp(T0))
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp(T0)}
    ]}
    return pod


@pytest_asyncio.fixture()
async def server(kmock: kmock.KubernetesScaffold) -> ApiServer:
    srv = ApiServer(kmock)
    for name in ("gpu-0", "gpu-1"):
        node = kube_node(name, rack="r1")
        node["metadata"]["creationTimestamp"] = stamp(T0)
        srv.put("nodes", node)
    srv.put("queues", kube_queue("team-a", gpus=16))
    srv.put("acceleratorclasses", h100_class())
    return srv


async def watched(api: Any) -> tuple[reflector.Reflector, reflector.Reflector]:
    """The pod and node copies, listed once (the loops' own watches are tested elsewhere)."""
    pods = reflector.Reflector(api, calls.LIST_PODS, calls.WATCH_PODS, "pods", lambda: None)
    nodes = reflector.Reflector(api, calls.LIST_NODES, calls.WATCH_NODES, "nodes", lambda: None)
    await pods.relist()
    await nodes.relist()
    return pods, nodes


async def cost_loop(api: Any, folder: Path, clock: Clock,
                    leading: Callable[[], bool] = lambda: True) -> costs.CostLoop:
    pods, nodes = await watched(api)
    return costs.CostLoop(api, pods, nodes, folder, leading=leading, clock=clock)


def spent(server: ApiServer) -> tuple[float, float | None]:
    found = server.get("budgets", None, "cap")
    assert found is not None
    status = found.get("status") or {}
    return status.get("spent", 0.0), status.get("forecast")


def gpu_dollars(loop: costs.CostLoop, pod: str) -> float:
    view = loop.last_view
    assert view is not None
    rep = allocation.allocate(view.ledger, view.prices,
                              allocation.Window(T0.timestamp(), view.now), ["pod"])
    line = rep.line(pod)
    return 0.0 if line is None else line.cost(pricing.ResourceKind.GPU) / 100


async def test_the_leader_writes_what_the_budget_spent_and_a_standby_only_journals(
    server: ApiServer, api: Any, tmp_path: Path
) -> None:
    server.put("budgets", budget(1000))
    server.put("pods", running_pod())
    clock = Clock()
    standby = await cost_loop(api, tmp_path / "standby", clock, leading=lambda: False)
    leader = await cost_loop(api, tmp_path / "leader", clock)
    clock.tick(2 * HOUR)
    assert await standby.run_once() == 0
    assert ("PATCH", "budgets/status", "cap") not in server.requests
    assert await leader.run_once() == 1
    assert spent(server) == (round(2 * RUNNING_HOURLY, 2), None)
    assert gpu_dollars(standby, "first") == gpu_dollars(leader, "first") == 4 * PRICE * 2
    clock.tick(1)
    assert await leader.run_once() == 0, "the same cents are not written again"
    assert (tmp_path / "standby" / "k8s4ai.ledger-open.json").exists()


async def test_a_restart_loses_nothing_and_counts_nothing_twice(
    server: ApiServer, api: Any, tmp_path: Path
) -> None:
    server.put("budgets", budget(1000))
    server.put("pods", running_pod("first"))
    server.put("pods", running_pod("other", node="gpu-1"))
    clock = Clock()
    clock.tick(HOUR)
    first = await cost_loop(api, tmp_path, clock)
    await first.run_once()
    first.stop()
    clock.tick(HOUR)
    second = await cost_loop(api, tmp_path, clock)  # a restart: the pods ran on meanwhile
    await second.run_once()
    assert gpu_dollars(second, "first") == pytest.approx(4 * PRICE * 2)
    server.objects.pop(("pods", "team-a", "other"))  # finished and gone while nobody watched
    clock.tick(HOUR)
    third = await cost_loop(api, tmp_path, clock)
    await third.run_once()
    assert gpu_dollars(third, "first") == pytest.approx(4 * PRICE * 3)
    assert gpu_dollars(third, "other") == pytest.approx(4 * PRICE * 2), (
        "counted until the last pass that saw it, not guessed beyond"
    )
    assert spent(server)[0] == pytest.approx(5 * RUNNING_HOURLY, abs=0.01)
    journal = (tmp_path / "k8s4ai.ledger.jsonl").read_text().splitlines()
    assert journal and len(journal) == len(set(journal))
    fourth = await cost_loop(api, tmp_path, clock)
    await fourth.run_once()
    assert gpu_dollars(fourth, "other") == pytest.approx(4 * PRICE * 2)


def said(server: ApiServer, pod: str) -> str | None:
    found = server.get("pods", "team-a", pod)
    assert found is not None
    for cond in (found.get("status") or {}).get("conditions") or []:
        if cond["type"] == "PodScheduled" and cond["status"] == "False":
            return str(cond["message"])
    return None


def failed_scheduling(server: ApiServer) -> list[str]:
    return [
        obj["message"] for (plural, _, _), obj in server.objects.items()
        if plural == "events" and obj.get("reason") == "FailedScheduling"
    ]


async def test_a_hard_budget_holds_a_job_whose_projected_cost_crosses_it(
    server: ApiServer, api: Any
) -> None:
    server.put("budgets", budget(100))
    for pod in gang_pods("train", 2, "team-a"):
        pod["metadata"]["annotations"]["k8s4ai.io/estimated-duration"] = "10h"
        server.put("pods", pod)
    ctl = controller.Controller(api, clock=Clock())
    await ctl.pods.relist()
    await ctl.nodes.relist()
    result = await ctl.run_once()
    # 2 pods x 4 H100 x $3 x 10 h = $240, past the $100 the budget allows
    message = result.waiting.get("team-a/train", "")
    assert "budget cap" in message and "projected 240.00" in message, result.waiting
    assert said(server, "train-0") == said(server, "train-1") == message
    assert message in failed_scheduling(server)
    assert server.bindings() == []
    server.put("budgets", budget(1000))
    result = await ctl.run_once()
    assert set(result.bound) == {"team-a/train"}


async def test_a_budget_the_cost_loop_fills_holds_the_next_job_until_raised(
    server: ApiServer, api: Any, tmp_path: Path
) -> None:
    server.put("budgets", budget(50))
    server.put("pods", running_pod())
    clock = Clock()
    costs_loop = await cost_loop(api, tmp_path, clock)
    clock.tick(5 * HOUR)  # 4 x $3 x 5 h = $60 > $50
    await costs_loop.run_once()
    assert spent(server)[0] > 50
    for pod in gang_pods("second", 1, "team-a"):
        server.put("pods", pod)
    ctl = controller.Controller(api, clock=clock)
    await ctl.pods.relist()
    await ctl.nodes.relist()
    result = await ctl.run_once()
    assert "budget cap has spent" in result.waiting["team-a/second"]
    assert said(server, "second-0") == result.waiting["team-a/second"]
    raised = budget(1000)
    raised["status"] = (server.get("budgets", None, "cap") or {})["status"]
    server.put("budgets", raised)
    result = await ctl.run_once()
    assert set(result.bound) == {"team-a/second"}


async def test_the_operator_runs_the_cost_loop_beside_the_scheduler(
    server: ApiServer, api: Any, tmp_path: Path
) -> None:
    server.put("budgets", budget(10**9))
    server.put("pods", running_pod())
    fast = leader.LeaseConfig(lease_seconds=0.6, renew_deadline_seconds=0.4, retry_seconds=0.05)
    settings = operator.Settings(fast, "only", period_seconds=0.1, ledger_dir=tmp_path)
    stop = asyncio.Event()
    task = asyncio.create_task(operator.run(api, settings, stop))
    try:
        async with asyncio.timeout(10):
            while spent(server)[0] <= 0:
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    state = json.loads((tmp_path / "k8s4ai.ledger-open.json").read_text())
    assert [s["labels"]["pod"] for s in state["open"] if s["record"] == "allocation"] == [
        "first"
    ] * 3, "the running pod's GPUs, cores and memory are open when the operator stops"


async def test_the_loops_view_weighs_gpus_by_what_dcgm_saw_them_do(
    server: ApiServer, api: Any, tmp_path: Path
) -> None:
    server.put("pods", running_pod())

    def handle(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        result = []
        if params["query"] == dcgm.ENGINE_ACTIVE:
            start, step = float(params["start"]), float(params["step"])
            values = [[start + step * i, "0.25"] for i in range(int(2 * HOUR / step))]
            result = [{"metric": {"namespace": "team-a", "pod": "first"}, "values": values}]
        data = {"resultType": "matrix", "result": result}
        return httpx.Response(200, json={"status": "success", "data": data})

    clock = Clock()
    pods, nodes = await watched(api)
    with httpx.Client(base_url="http://prometheus.test",
                      transport=httpx.MockTransport(handle)) as client:
        loop = costs.CostLoop(api, pods, nodes, tmp_path, clock=clock,
                              sampler=dcgm.sampler(client))
        clock.tick(2 * HOUR)
        await loop.run_once()
        assert loop.last_view is not None and len(loop.last_view.samples) == 0
        measured = loop.view()
    window = allocation.Window(T0.timestamp(), measured.now)
    usage = allocation.allocate(measured.ledger, measured.prices, window, ["pod"],
                                basis=allocation.Basis.USAGE, samples=measured.samples)
    line = usage.line("first")
    assert line is not None
    assert line.cost(pricing.ResourceKind.GPU) / 100 == pytest.approx(4 * PRICE * 2 * 0.25)
