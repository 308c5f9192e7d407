"""The scheduler loop against an API server over HTTP: it watches Pods and Nodes, binds
admitted gangs all or nothing, requeues a gang whose bind failed, explains pending pods,
acts only while leading, and survives watch disconnects without missing or double-binding
a pod."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import kmock
import pytest
import pytest_asyncio

from k8s4ai.backends.kubernetes import controller
from tests.backends.kubernetes.apiserver import ApiServer, status
from tests.backends.kubernetes.kube import gang_pods, kube_node, kube_pod, kube_queue

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio,
    pytest.mark.kmock(cls=kmock.KubernetesScaffold),
]


@pytest_asyncio.fixture()
async def server(kmock: kmock.KubernetesScaffold) -> ApiServer:
    srv = ApiServer(kmock)
    for node in (kube_node("gpu-0", rack="r1"), kube_node("gpu-1", rack="r2")):
        srv.put("nodes", node)
    srv.put("queues", kube_queue("team-a", gpus=16))
    return srv


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@asynccontextmanager
async def running(ctl: controller.Controller) -> AsyncIterator[controller.Controller]:
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop, period_seconds=0.2))
    try:
        await until(ctl.pods.synced.is_set)
        yield ctl
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def _put(server: ApiServer, pods: list[dict[str, Any]]) -> None:
    for pod in pods:
        server.put("pods", pod)


def _nodes(server: ApiServer, *names: str) -> list[str | None]:
    return [server.node_of("team-a", n) for n in names]


TRAIN = tuple(f"train-{i}" for i in range(4))


async def test_a_four_pod_gang_is_bound_by_the_loop(server: ApiServer, api: Any) -> None:
    _put(server, gang_pods("train", 4, "team-a"))
    async with running(controller.Controller(api)):
        await until(lambda: all(_nodes(server, *TRAIN)))
    assert sorted(server.bindings()) == sorted(TRAIN)
    assert Counter(_nodes(server, *TRAIN)) == {"gpu-0": 2, "gpu-1": 2}


async def test_a_failed_bind_rolls_back_and_requeues_the_gang(server: ApiServer, api: Any) -> None:
    _put(server, gang_pods("train", 4, "team-a"))
    server.refuse[("pods/binding", "train-2")] = status(409, "Conflict", "node is full")
    ctl = controller.Controller(api, backoff_seconds=0)
    async with running(ctl):
        await until(lambda: _nodes(server, *TRAIN) == [None, None, "", ""])
        await asyncio.sleep(0.1)
        assert "train-3" not in server.bindings(), "half a gang is never bound"
        del server.refuse[("pods/binding", "train-2")]
        # The Job controller recreates the deleted pods under new UIDs.
        for pod in gang_pods("train", 2, "team-a"):
            pod["metadata"]["uid"] += "-2"
            server.put("pods", pod)
        await until(lambda: all(_nodes(server, *TRAIN)))
    assert Counter(server.bindings()) == {"train-0": 2, "train-1": 2, "train-2": 2, "train-3": 1}


async def test_a_watch_disconnect_resumes_without_missing_or_double_binding(
    server: ApiServer, api: Any
) -> None:
    server.put("queues", kube_queue("team-a", gpus=16))
    ctl = controller.Controller(api)
    async with running(ctl):
        _put(server, gang_pods("a", 1, "team-a"))
        await until(lambda: bool(server.node_of("team-a", "a-0")))
        server.drop_watches()
        _put(server, gang_pods("b", 1, "team-a"))  # while no watch is open
        await until(lambda: bool(server.node_of("team-a", "b-0")))
        assert (ctl.pods.lists, ctl.pods.watches >= 2) == (1, True)
        server.drop_watches()
        server.compact()
        _put(server, gang_pods("c", 1, "team-a"))
        await until(lambda: bool(server.node_of("team-a", "c-0")))
        assert ctl.pods.lists == 2, "a 410 Gone relists"
        await asyncio.sleep(0.3)
    assert Counter(server.bindings()) == {"a-0": 1, "b-0": 1, "c-0": 1}


async def test_a_replica_that_is_not_leading_binds_nothing(server: ApiServer, api: Any) -> None:
    leading = False
    _put(server, gang_pods("train", 4, "team-a"))
    ctl = controller.Controller(api, leading=lambda: leading)
    async with running(ctl):
        await asyncio.sleep(0.3)
        assert server.requests == []
        leading = True
        ctl.changed.set()
        await until(lambda: all(_nodes(server, *TRAIN)))


async def test_pending_pods_say_why_once(server: ApiServer, api: Any) -> None:
    _put(server, gang_pods("big", 4, "team-a", gpus=8))
    server.put("pods", kube_pod("loner", labels={"k8s4ai.io/gang": "x"}))
    ctl = controller.Controller(api)
    await ctl.pods.relist()
    await ctl.nodes.relist()
    result = await ctl.run_once()
    assert result.bound == {}
    why = result.waiting["team-a/big"]
    assert "32" in why and "16" in why, why
    pod = server.get("pods", "team-a", "big-0")
    assert pod is not None
    (cond,) = pod["status"]["conditions"]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
        "PodScheduled",
        "False",
        "Unschedulable",
        why,
    )
    loner = server.get("pods", "team-a", "loner")
    assert loner is not None and "no queue" in loner["status"]["conditions"][0]["message"]
    events = [o for (p, _, _), o in server.objects.items() if p == "events"]
    assert sorted(e["involvedObject"]["name"] for e in events) == [
        "big-0",
        "big-1",
        "big-2",
        "big-3",
        "loner",
    ]
    assert {e["reason"] for e in events} == {"FailedScheduling"}
    await ctl.pods.relist()
    writes = len(server.requests)
    await ctl.run_once()
    assert len(server.requests) == writes, "the same reason is not written twice"


async def test_a_pod_group_gang_waits_for_its_min_member(server: ApiServer, api: Any) -> None:
    server.put(
        "podgroups",
        {
            "apiVersion": "scheduling.x-k8s.io/v1alpha1",
            "kind": "PodGroup",
            "metadata": {"name": "pg", "namespace": "team-a"},
            "spec": {"minMember": 3},
        },
    )
    labels = {"scheduling.x-k8s.io/pod-group": "pg", "kueue.x-k8s.io/queue-name": "team-a"}
    pods = [kube_pod(f"pg-{i}", gpus=4, labels=labels) for i in range(3)]
    _put(server, pods[:2])
    ctl = controller.Controller(api)
    await ctl.pods.relist()
    await ctl.nodes.relist()
    await ctl.run_once()
    assert server.bindings() == []
    assert pending_message(server, "pg-0") == "waiting for its gang: 2 of at least 3 pods exist"
    server.put("pods", pods[2])
    await ctl.pods.relist()
    result = await ctl.run_once()
    assert sorted(result.bound["team-a/pg"]) == ["pg-0", "pg-1", "pg-2"]


def pending_message(server: ApiServer, pod: str) -> str:
    found = server.get("pods", "team-a", pod)
    assert found is not None
    (cond,) = found["status"]["conditions"]
    return str(cond["message"])


async def test_gpus_held_by_other_schedulers_pods_are_not_offered(
    server: ApiServer, api: Any
) -> None:
    theirs = kube_pod("inference", namespace="serving", scheduler="default-scheduler", node="gpu-0")
    server.put("pods", theirs)
    _put(server, gang_pods("train", 4, "team-a"))
    ctl = controller.Controller(api)
    await ctl.pods.relist()
    await ctl.nodes.relist()
    result = await ctl.run_once()
    assert result.bound == {} and "team-a/train" in result.waiting
    server.put("pods", theirs | {"status": {"phase": "Succeeded"}})
    await ctl.pods.relist()
    result = await ctl.run_once()
    assert Counter(result.bound["team-a/train"].values()) == {"gpu-0": 2, "gpu-1": 2}
