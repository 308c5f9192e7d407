"""The operator as deployed: replicas that each watch, elect a leader on the Lease, and
schedule only while leading — in process, and as the `k8s4ai up --kubeconfig` command."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import kmock
import pytest
import pytest_asyncio

from k8s4ai.backends.kubernetes import leader, operator
from tests.backends.kubernetes.apiserver import ApiServer
from tests.backends.kubernetes.kube import gang_pods, kube_node, kube_queue

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio,
    pytest.mark.kmock(cls=kmock.KubernetesScaffold),
]

FAST = leader.LeaseConfig(lease_seconds=0.6, renew_deadline_seconds=0.4, retry_seconds=0.05)


@pytest_asyncio.fixture()
async def server(kmock: kmock.KubernetesScaffold, api: Any) -> ApiServer:
    srv = ApiServer(kmock)
    for name in ("gpu-0", "gpu-1"):
        srv.put("nodes", kube_node(name))
    srv.put("queues", kube_queue("team-a", gpus=16))
    return srv


async def until(check: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


def _bound(server: ApiServer, gang: str, count: int) -> bool:
    return all(server.node_of("team-a", f"{gang}-{i}") for i in range(count))


def _holder(server: ApiServer) -> str | None:
    lease = server.get("leases", "k8s4ai-system", "k8s4ai-controller")
    return None if lease is None else lease["spec"].get("holderIdentity")


async def test_two_replicas_bind_each_gang_once_and_the_standby_takes_over(
    server: ApiServer, api: Any
) -> None:
    stops = {name: asyncio.Event() for name in ("a", "b")}
    tasks = {
        name: asyncio.create_task(
            operator.run(api, operator.Settings(FAST, name, period_seconds=0.2), stop)
        )
        for name, stop in stops.items()
    }
    try:
        for pod in gang_pods("first", 2, "team-a"):
            server.put("pods", pod)
        await until(lambda: _bound(server, "first", 2))
        leader_name = _holder(server)
        assert leader_name in stops
        stops[leader_name].set()
        await tasks[leader_name]
        await until(lambda: _holder(server) not in (None, leader_name))
        for pod in gang_pods("second", 2, "team-a"):
            server.put("pods", pod)
        await until(lambda: _bound(server, "second", 2))
    finally:
        for stop in stops.values():
            stop.set()
        await asyncio.gather(*tasks.values())
    assert Counter(server.bindings()) == {
        f"{g}-{i}": 1 for g in ("first", "second") for i in (0, 1)
    }


async def test_k8s4ai_up_with_a_kubeconfig_schedules_the_cluster(
    server: ApiServer, kmock: kmock.KubernetesScaffold, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: mock, cluster: {{server: "{str(kmock.url).rstrip("/")}"}}}}]
users: [{{name: me, user: {{token: t}}}}]
contexts: [{{name: mock, context: {{cluster: mock, user: me}}}}]
current-context: mock
"""
    )
    for pod in gang_pods("train", 4, "team-a"):
        server.put("pods", pod)
    k8s4ai = Path(sys.executable).parent / "k8s4ai"
    proc = await asyncio.create_subprocess_exec(
        str(k8s4ai),
        "up",
        "--kubeconfig",
        str(kubeconfig),
        "--identity",
        "replica-1",
        "--lease-duration=1s",
        "--renew-deadline=0.6s",
        "--retry-period=0.1s",
        "--port=0",
        env={**os.environ, "K8S4AI_HOME": str(tmp_path)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await until(lambda: _bound(server, "train", 4) or proc.returncode is not None, 60)
        assert _bound(server, "train", 4)
        assert _holder(server) == "replica-1"
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
    text = output.decode()
    assert proc.returncode == 0, text
    assert "as replica-1, acting while it holds the Lease k8s4ai-system/k8s4ai-controller" in text
    assert text.rstrip().endswith("stopped")
    assert _holder(server) is None, "a clean stop gives the Lease up"
