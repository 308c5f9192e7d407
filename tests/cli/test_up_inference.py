"""`k8s4ai up`'s inference half follows the store: scaling a service, re-pointing or deleting
a router, or applying a new one takes effect while it runs, and requests keep being served."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from k8s4ai import testing
from k8s4ai.api import inference, routing
from k8s4ai.cli import up_inference, up_traffic
from k8s4ai.store import sqlite
from k8s4ai.traces import mooncake

pytestmark = pytest.mark.integration


def _eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[sqlite.SqliteStore]:
    with sqlite.SqliteStore(tmp_path / "store.db") as s:
        s.apply([
            testing.typed(testing.inference_service("chat", "serving")),
            testing.typed(
                testing.content_router("chat-router", "serving", service="chat", port=_free_port())
            ),
        ])  # fmt: skip
        yield s


def _service(store: sqlite.SqliteStore) -> inference.InferenceService:
    found = store.get(inference.InferenceService.kind_name, "chat", "serving")
    assert isinstance(found, inference.InferenceService)
    return found


def _router(store: sqlite.SqliteStore) -> routing.ContentRouter:
    found = store.get(routing.ContentRouter.kind_name, "chat-router", "serving")
    assert isinstance(found, routing.ContentRouter)
    return found


def _ask(url: str) -> int:
    body = {"model": "tiny", "prompt": "hello", "max_tokens": 1}
    return httpx.post(f"{url}/v1/completions", json=body, timeout=10, trust_env=False).status_code


def test_scaling_a_service_reaches_its_router(store: sqlite.SqliteStore) -> None:
    serving = up_inference.start(store, "127.0.0.1")
    try:
        first = _service(store).status.endpoints
        assert len(first) == 1
        url = _router(store).status.url
        assert url is not None and _ask(url) == 200

        store.patch("InferenceService", "chat", "serving", {"spec": {"replicas": 3}})
        _eventually(lambda: len(_service(store).status.endpoints) == 3)
        assert _service(store).status.endpoints[0] == first[0], "running replicas stay"
        router = serving.routers["serving/chat-router"].router
        _eventually(lambda: len(router.pool.candidates("tiny")) == 3)
        for _ in range(6):
            assert _ask(url) == 200
        assert all(r.served > 0 for r in router.pool.replicas), "every replica takes traffic"

        store.patch("InferenceService", "chat", "serving", {"spec": {"replicas": 1}})
        _eventually(lambda: len(router.pool.replicas) == 1)
        assert _service(store).status.endpoints == first
        assert _ask(url) == 200
    finally:
        serving.stop(store)
    assert _service(store).status.endpoints == []
    assert _router(store).status.url is None


def test_routers_applied_changed_or_deleted_while_running(store: sqlite.SqliteStore) -> None:
    serving = up_inference.start(store, "127.0.0.1")
    try:
        rr_router = testing.content_router(
            "rr", "serving", service="chat", policy="round-robin", port=_free_port()
        )
        store.apply([testing.typed(rr_router)])
        _eventually(lambda: "serving/rr" in serving.routers)
        rr = serving.routers["serving/rr"]
        assert rr.router.cfg.policy == "round-robin" and _ask(rr.url) == 200

        store.patch("ContentRouter", "rr", "serving", {"spec": {"policy": "least-load"}})
        _eventually(lambda: serving.routers["serving/rr"].router.cfg.policy == "least-load")
        assert serving.routers["serving/rr"].url == rr.url, "restarted on the same port"
        assert _ask(rr.url) == 200

        store.delete("ContentRouter", "rr", "serving")
        _eventually(lambda: "serving/rr" not in serving.routers)
        with pytest.raises(httpx.ConnectError):
            _ask(rr.url)
    finally:
        serving.stop(store)


def test_demo_traffic_shows_in_the_routers_and_services_status(tmp_path: Path) -> None:
    with sqlite.SqliteStore(tmp_path / "traffic.db") as store:
        store.apply([
            testing.typed(testing.inference_service("chat", "serving", maxModelLen=2048)),
            testing.typed(
                testing.content_router("chat-router", "serving", service="chat", port=_free_port())
            ),
        ])  # fmt: skip
        serving = up_inference.start(store, "127.0.0.1", traffic=True, publish_period=0.5)
        try:
            _eventually(lambda: (_router(store).status.requests_per_second or 0) > 0, 30)
            _eventually(lambda: _router(store).status.ttft_p95_ms is not None, 30)
            status = _router(store).status
            assert status.tokens_per_second is not None and status.tokens_per_second > 0
            assert status.last_sample_time is not None
            _eventually(lambda: _service(store).status.requests_per_second is not None)
        finally:
            serving.stop(store)
        assert _router(store).status.requests_per_second is None, "nobody measures it now"
        assert _service(store).status.latency_p95 is None


def test_demo_traffic_fits_the_context_and_stays_on_loopback() -> None:
    long = mooncake.Request(0.0, 5000, 400, tuple(range(10)))
    cut = up_traffic.fitted(long, 2048)
    assert cut.input_length + cut.output_length == 2048
    assert cut.output_length == up_traffic.MAX_OUTPUT_TOKENS
    assert len(cut.hash_ids) == 4
    assert up_traffic.is_loopback("http://127.0.0.1:8000")
    assert not up_traffic.is_loopback("http://10.0.0.5:8000")
