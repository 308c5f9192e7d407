"""`k8s4ai router` as a user runs it: a process in front of mock replicas on 127.0.0.1."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from k8s4ai import testing
from k8s4ai.store import sqlite
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


def test_router_from_the_store_follows_its_service(
    replicas: list[run.RunningReplica], tmp_path: Path
) -> None:
    db = tmp_path / "k8s4ai.db"
    first, second = replicas
    service = testing.inference_service("chat", "serving", replicas=2)
    router = testing.content_router("chat-router", "serving", service="chat", policy="round-robin")

    def publish(store: sqlite.SqliteStore, *urls: str) -> None:
        status = {"status": {"endpoints": list(urls), "readyReplicas": len(urls)}}
        store.patch("InferenceService", "chat", "serving", status, subresource="status")

    with sqlite.SqliteStore(db) as store:
        store.apply([testing.typed(service), testing.typed(router)])
        publish(store, first.url)
        args = [K8S4AI, "--db", str(db), "router", "--from", "chat-router", "-n", "serving"]
        proc = subprocess.Popen([*args, "--port", "0"], stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            found = re.search(r"on (http://127\.0\.0\.1:\d+)", proc.stderr.readline())
            assert found
            body = {"model": "tiny", "prompt": "hello there", "max_tokens": 1}
            with httpx.Client(base_url=found.group(1), trust_env=False, timeout=10) as client:
                assert client.post("/v1/completions", json=body).status_code == 200
                publish(store, second.url)
                assert second.url in proc.stderr.readline(), "the router says it moved"
                before = first.app.engine.stats.requests
                for _ in range(3):
                    assert client.post("/v1/completions", json=body).status_code == 200
        finally:
            proc.terminate()
            proc.wait(10)
            if proc.stderr is not None:
                proc.stderr.close()
    assert before == 1, "only the request sent before the move reached the first replica"
    assert second.app.engine.stats.requests >= 3
    assert first.app.engine.stats.requests == before, "nothing reaches a removed replica"
