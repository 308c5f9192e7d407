"""`k8s4ai up` started for real, as a user would: a server on 127.0.0.1 serving the example
cluster, controllers filling in status and admitting gangs live, a clean stop on SIGTERM."""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from k8s4ai import api, testing
from k8s4ai.client import http

pytestmark = pytest.mark.integration

K8S4AI = Path(sys.executable).parent / "k8s4ai"
T = TypeVar("T")


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    env = {**os.environ, "K8S4AI_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [str(K8S4AI), "up", "--port", "0", "--no-workload"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    url, lines = None, []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if match := re.search(r"API server\s+(http://127\.0\.0\.1:\d+)", line):
            url = match.group(1)
        if "Press Ctrl-C to stop" in line or not line:
            break
    assert url is not None, "".join(lines)
    tokens = (tmp_path / "tokens.csv").read_text().splitlines()
    write_token = next(t.split(",")[0] for t in tokens if ",write," in t)
    try:
        yield url, write_token, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def eventually(check: Callable[[], T | None], timeout: float = 20) -> T:
    """`check()` once it returns something, polling until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_up_serves_the_example_cluster_with_status(
    plane: tuple[str, str, subprocess.Popen[str]],
) -> None:
    url, token, proc = plane
    assert httpx.get(f"{url}/healthz").status_code == 200
    assert httpx.get(f"{url}/apis/k8s4ai.io/v1alpha1/nodes").status_code == 401
    store = http.HttpStore(url, token=token)
    try:
        assert len(store.list("Node").items) == 11
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            h100 = store.get("AcceleratorClass", "h100-sxm")
            if getattr(h100.status, "gpus", 0) == 64:
                break
            time.sleep(0.2)
        assert getattr(h100.status, "gpus", 0) == 64, h100.status
    finally:
        store.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def phase(store: http.HttpStore, name: str, namespace: str) -> tuple[str, str] | None:
    """(phase, Admitted reason) once admission has decided on the gang."""
    job = store.get("GangSchedulingGroup", name, namespace)
    cond = job.status.condition("Admitted")
    if cond is None:
        return None
    assert isinstance(job, api.GangSchedulingGroup)
    return job.status.phase, cond.reason


def admitted(store: http.HttpStore, name: str, jobs: int) -> api.Queue | None:
    q = store.get("Queue", name)
    assert isinstance(q, api.Queue)
    return q if q.status.admitted == jobs else None


def test_up_admits_example_and_applied_gangs_live(
    plane: tuple[str, str, subprocess.Popen[str]],
) -> None:
    url, token, proc = plane
    store = http.HttpStore(url, token=token)
    try:
        assert eventually(lambda: phase(store, "llama-70b-sft", "team-a")) == (
            "Admitted", "Admitted")
        llama = store.get("GangSchedulingGroup", "llama-70b-sft", "team-a")
        assert isinstance(llama, api.GangSchedulingGroup)
        [workers] = llama.status.assignments
        racks = {n.split("-")[1] for n in workers.nodes}
        assert len(workers.nodes) == 2 and len(racks) == 1, workers.nodes
        assert eventually(lambda: phase(store, "mixtral-pretrain", "team-a")) == (
            "Pending", "QuotaExceeded")
        assert eventually(lambda: phase(store, "whisper-batch", "serving")) == (
            "Pending", "Unschedulable")
        store.create(api.GangSchedulingGroup.model_validate(
            testing.gang("live", "team-b").queue("team-b").gpus(8, "h100-sxm").build()))
        assert eventually(lambda: phase(store, "live", "team-b")) == ("Admitted", "Admitted")
        live = store.get("GangSchedulingGroup", "live", "team-b")
        assert isinstance(live, api.GangSchedulingGroup)
        [pod] = live.status.assignments[0].nodes
        assert pod.startswith("h100-") and pod not in workers.nodes
        team_b = eventually(lambda: admitted(store, "team-b", 3))
        used = {(u.resource, u.accelerator_class): str(u.used) for u in team_b.status.usage}
        assert used[("gpu", "h100-sxm")] == "8.25"  # notebook-eval's quarter GPU and live's 8
    finally:
        store.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def test_up_twice_on_the_same_port_says_why(
    plane: tuple[str, str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, _, _ = plane
    port = url.rsplit(":", 1)[1]
    env = {**os.environ, "K8S4AI_HOME": str(tmp_path / "second")}
    second = subprocess.run(
        [str(K8S4AI), "up", "--port", port], env=env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    assert "already running" in second.stderr


def test_up_serves_the_example_inference_endpoint_through_its_router(
    plane: tuple[str, str, subprocess.Popen[str]],
) -> None:
    url, token, proc = plane
    store = http.HttpStore(url, token=token)
    try:
        router = store.get("ContentRouter", "chat-router", "serving")
        service = store.get("InferenceService", "llama-8b-chat", "serving")
    finally:
        store.close()
    assert isinstance(router, api.ContentRouter) and isinstance(service, api.InferenceService)
    assert service.status.ready_replicas == 3 and len(service.status.endpoints) == 3
    assert router.status.url is not None and router.status.ready_replicas == 3
    body = {
        "model": service.spec.model,
        "messages": [{"role": "user", "content": "hello there"}],
        "max_tokens": 3,
    }
    answer = httpx.post(f"{router.status.url}/v1/chat/completions", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"]["completion_tokens"] == 3
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def test_up_keeps_a_live_ledger_budgets_and_the_allocation_api(
    plane: tuple[str, str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, token, proc = plane
    store = http.HttpStore(url, token=token)
    headers = {"Authorization": f"Bearer {token}"}

    def spent() -> float | None:
        budget = store.get("Budget", "team-a-monthly")
        value = getattr(budget.status, "spent", 0.0)
        return value if value > 0 else None

    try:
        assert eventually(spent, timeout=40) > 0, "the cost controller writes budgets' spending"
        got = httpx.get(
            f"{url}/api/v1/allocation",
            params={"window": "1h", "aggregate": "namespace", "includeIdle": "true"},
            headers=headers,
            timeout=10,
        )
        assert got.status_code == 200, got.text
        [step] = got.json()["data"]
        assert "team-a" in step and "__idle__" in step
        assert step["team-a"]["gpuCost"] > 0
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert "node_gpu_hourly_cost{" in metrics
    finally:
        store.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert (tmp_path / "k8s4ai.ledger-open.json").exists(), "open runs survive a stop"
