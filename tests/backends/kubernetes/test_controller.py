"""The scheduler loop against an API server over HTTP: it watches Pods and Nodes, binds
admitted gangs all or nothing, requeues a gang whose bind failed, rolls back a gang found
partly bound without overcommitting a node, explains pending pods, acts only while
leading, and survives watch disconnects without missing or double-binding a pod."""

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
    events = _events(server)
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


def _events(server: ApiServer) -> list[dict[str, Any]]:
    return [o for (p, _, _), o in server.objects.items() if p == "events"]


def _recreated(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pods as their Job controller recreates them: same names, new UIDs, unbound."""
    for pod in pods:
        pod["metadata"]["uid"] += "-again"
    return pods


async def test_a_partly_bound_gang_is_rolled_back_and_never_overcommits_a_node(
    server: ApiServer, api: Any
) -> None:
    """Half a gang bound by a leader that stopped, on a cluster with 8 GPUs left: placing
    the other half as if the bound pods were not there would put it where they are."""
    server.put("nodes", kube_node("gpu-2", rack="r2"))
    for name, node in (("serving-0", "gpu-0"), ("serving-2", "gpu-2")):
        theirs = kube_pod(name, namespace="serving", gpus=4, scheduler="default-scheduler")
        server.put("pods", theirs | {"spec": {**theirs["spec"], "nodeName": node}})
    pods = gang_pods("train", 4, "team-a")
    for pod in pods[:2]:
        pod["spec"]["nodeName"] = "gpu-1"
    _put(server, pods)
    ctl = controller.Controller(api, backoff_seconds=0)
    async with running(ctl):
        await until(lambda: bool(server.requests))
        await asyncio.sleep(0.3)
        assert server.overcommits == []
        assert server.bindings() == [], "nothing is bound while the gang is short of pods"
        assert _nodes(server, *TRAIN)[:2] == [None, None], "its bound pods are deleted"
        said = [e["message"] for e in _events(server) if e["involvedObject"]["name"] == "train-2"]
        assert any("partly bound (2 of 4 pods)" in m for m in said), said
        _put(server, _recreated(gang_pods("train", 2, "team-a")))
        await until(lambda: all(_nodes(server, *TRAIN)))
    assert server.overcommits == []
    assert Counter(_nodes(server, *TRAIN))["gpu-1"] == 2
    assert {n: server.gpus_used(n) for n in ("gpu-0", "gpu-1", "gpu-2")} == {
        "gpu-0": 8,
        "gpu-1": 8,
        "gpu-2": 8,
    }


async def test_a_replacement_for_a_failed_member_rolls_its_gang_back(
    server: ApiServer, api: Any
) -> None:
    pods = gang_pods("train", 4, "team-a")
    for pod, node in zip(pods, ("gpu-0", "gpu-0", "gpu-1", "gpu-1"), strict=True):
        pod["spec"]["nodeName"] = node
    pods[3]["status"]["phase"] = "Failed"
    replacement = gang_pods("train", 5, "team-a")[4]
    _put(server, [*pods, replacement])
    ctl = controller.Controller(api, backoff_seconds=0)
    await ctl.pods.relist()
    await ctl.nodes.relist()
    result = await ctl.run_once()
    assert result.rolled_back == {"team-a/train": ("train-0", "train-1", "train-2")}
    assert result.bound == {} and server.bindings() == []
    assert _nodes(server, "train-0", "train-1", "train-2") == [None, None, None]
    assert "partly bound (3 of 4 pods)" in pending_message(server, "train-4")
    _put(server, _recreated(gang_pods("train", 3, "team-a")))
    await ctl.pods.relist()
    result = await ctl.run_once()
    assert sorted(result.bound["team-a/train"]) == ["train-0", "train-1", "train-2", "train-4"]
    assert server.overcommits == []


async def test_a_rolled_back_gang_waits_for_its_size_whatever_its_min_member(
    server: ApiServer, api: Any
) -> None:
    """A min-member below the gang's size would let the pods left after a rollback be placed
    alone, and be rolled back again when the others come back."""
    pods = gang_pods("train", 4, "team-a")
    for pod in pods:
        pod["metadata"]["annotations"]["k8s4ai.io/min-member"] = "2"
    for pod in pods[:2]:
        pod["spec"]["nodeName"] = "gpu-0"
    _put(server, pods)
    ctl = controller.Controller(api, backoff_seconds=0)
    await ctl.pods.relist()
    await ctl.nodes.relist()
    await ctl.run_once()
    await ctl.pods.relist()
    result = await ctl.run_once()
    assert result.bound == {}
    assert "2 of 4 pods exist" in result.waiting["team-a/train"]
    _put(server, _recreated(pods[:2]))
    for pod in pods[:2]:
        server.put("pods", pod | {"spec": {**pod["spec"], "nodeName": ""}})
    await ctl.pods.relist()
    result = await ctl.run_once()
    assert len(result.bound["team-a/train"]) == 4
