"""A gang is bound all-or-nothing against kmock's Kubernetes emulator over real HTTP on
127.0.0.1; the emulator does not implement pods/binding, so the test gives it the semantics
kube-apiserver has (set spec.nodeName once, refuse a stale UID or an already bound pod)."""

from __future__ import annotations

from typing import Any

import kmock
import pytest
import pytest_asyncio

from k8s4ai.backends.kubernetes import binder, calls, transport

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

PODS = kmock.resource("", "v1", "pods")
NS = "team-a"


def _pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
        "spec": {"schedulerName": "k8s4ai", "containers": [{"name": "main", "image": "x"}]},
    }


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


class ApiServer:
    """Binding semantics on top of the emulator, and a switch to refuse chosen pods."""

    def __init__(self, mock: kmock.KubernetesEmulator) -> None:
        self.mock = mock
        self.refuse: set[str] = set()
        mock[kmock.method.POST, kmock.subresource("binding")] << self._bind

    def add_pods(self, *names: str) -> None:
        for name in names:
            self.mock.objects[PODS, NS, name] = _pod(name)

    def node_of(self, name: str) -> str | None:
        key = (PODS, NS, name)
        if key not in self.mock.objects or self.mock.objects[key].deleted:
            return None
        node: str | None = self.mock.objects[key].get("spec", {}).get("nodeName", "")
        return node

    def exists(self, name: str) -> bool:
        key = (PODS, NS, name)
        return key in self.mock.objects and not self.mock.objects[key].deleted

    def _bind(self, request: kmock.Request) -> Any:
        name = request.name
        assert name is not None
        if name in self.refuse:
            return kmock.Response(status=409, payload=_status(409, "Conflict", "node is full"))
        pod = self.mock.objects[PODS, request.namespace, name]
        if request.data["metadata"].get("uid") != pod["metadata"]["uid"]:
            return kmock.Response(status=409, payload=_status(409, "Conflict", "uid mismatch"))
        if pod.get("spec", {}).get("nodeName"):
            return kmock.Response(status=409, payload=_status(409, "Conflict", "already bound"))
        pod.patch({"spec": {"nodeName": request.data["target"]["name"]}})
        return kmock.Response(
            status=201, payload={"kind": "Status", "status": "Success", "code": 201}
        )


@pytest_asyncio.fixture()
async def server(kmock: kmock.KubernetesEmulator) -> ApiServer:
    return ApiServer(kmock)


def _gang(*names: str) -> list[binder.Placement]:
    return [
        binder.Placement(binder.PodRef(NS, name, f"uid-{name}"), f"gpu-{i % 2}")
        for i, name in enumerate(names)
    ]


async def test_a_four_pod_gang_is_bound_to_its_nodes(server: ApiServer, api: Any) -> None:
    server.add_pods("w0", "w1", "w2", "w3")
    result = await binder.bind_gang(api, _gang("w0", "w1", "w2", "w3"))
    assert result.ok
    assert [server.node_of(p) for p in ("w0", "w1", "w2", "w3")] == [
        "gpu-0",
        "gpu-1",
        "gpu-0",
        "gpu-1",
    ]


async def test_a_failed_bind_rolls_back_the_pods_already_bound(server: ApiServer, api: Any) -> None:
    server.add_pods("w0", "w1", "w2", "w3")
    server.refuse.add("w2")
    result = await binder.bind_gang(api, _gang("w0", "w1", "w2", "w3"))
    assert not result.ok
    assert result.failed is not None and result.failed.pod.name == "w2"
    assert result.reason == "binding team-a/w2 to gpu-0 failed: 409 node is full"
    assert [p.name for p in result.rolled_back] == ["w0", "w1"]
    assert result.rollback_failures == ()
    assert [server.exists(p) for p in ("w0", "w1", "w2", "w3")] == [False, False, True, True]
    assert server.node_of("w3") == ""


async def test_a_recreated_pod_is_not_bound_and_the_gang_rolls_back(
    server: ApiServer, api: Any
) -> None:
    server.add_pods("w0", "w1")
    server.mock.objects[PODS, NS, "w1"] = _pod("w1") | {
        "metadata": {"name": "w1", "namespace": NS, "uid": "uid-new"}
    }
    result = await binder.bind_gang(api, _gang("w0", "w1"))
    assert "uid mismatch" in result.reason
    assert [p.name for p in result.rolled_back] == ["w0"]


async def test_a_rollback_that_fails_is_reported(server: ApiServer, api: Any) -> None:
    server.add_pods("w0", "w1")
    server.refuse.add("w1")
    server.mock[kmock.method.DELETE, kmock.name("w0")] << kmock.Response(
        status=500, payload=_status(500, "InternalError", "etcd down")
    )
    result = await binder.bind_gang(api, _gang("w0", "w1"))
    assert result.rolled_back == ()
    assert [(f.pod.name, f.reason) for f in result.rollback_failures] == [("w0", "500 etcd down")]


async def test_a_call_that_rbac_does_not_grant_is_never_made(api: Any) -> None:
    undeclared = calls.ApiCall("", "secrets", "get")
    with pytest.raises(transport.UndeclaredCallError, match=r"get secrets\.core is not declared"):
        await transport.request(api, undeclared, "GET", "secrets/x", NS)
