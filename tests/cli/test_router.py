"""`k8s4ai router` as a user runs it: a process in front of mock replicas on 127.0.0.1."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from k8s4ai.testing.replica import run, server

pytestmark = pytest.mark.integration

K8S4AI = str(Path(sys.executable).parent / "k8s4ai")


@pytest.fixture
def replicas() -> Iterator[list[run.RunningReplica]]:
    started = [run.start(server.ReplicaConfig(model="tiny", cache_blocks=64)) for _ in range(2)]
    yield started
    for replica in started:
        replica.stop()


def test_router_process_serves_and_follows_the_prefix(replicas: list[run.RunningReplica]) -> None:
    args = [K8S4AI, "router", "--port", "0", "--health-interval", "0.2"]
    for replica in replicas:
        args += ["--endpoint", replica.url]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        assert found, line
        url = found.group(1)
        shared = " ".join(f"w{i}" for i in range(600))
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
            assert client.get("/health").status_code == 200
            models = client.get("/v1/models").json()["data"]
            assert [m["id"] for m in models] == ["tiny"]
            for turn in range(4):
                r = client.post(
                    "/v1/completions",
                    json={"model": "tiny", "prompt": f"{shared} turn {turn}", "max_tokens": 2},
                )
                assert r.status_code == 200, r.text
            r = client.post("/v1/completions", json={"model": "nope", "prompt": "x"})
            assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
        served = [rep.app.engine.stats.requests for rep in replicas]
        assert sorted(served) == [0, 4], "every turn went to the replica holding the prefix"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_router_without_replicas_says_what_to_give() -> None:
    done = subprocess.run([K8S4AI, "router"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "--endpoint" in done.stderr and "--from" in done.stderr
