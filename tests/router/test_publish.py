"""A router in front of mock replicas writes what it measured into its ContentRouter's and
its InferenceService's status, through the store's status subresource."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from k8s4ai import testing
from k8s4ai.api import inference, routing
from k8s4ai.router import app, config, publish, window
from k8s4ai.store import sqlite
from k8s4ai.testing.replica import run as replica_run
from k8s4ai.testing.replica import server as replica_server

pytestmark = pytest.mark.integration
MOMENT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[sqlite.SqliteStore]:
    with sqlite.SqliteStore(tmp_path / "store.db") as s:
        s.apply([
            testing.typed(testing.inference_service("chat", "serving", model="tiny")),
            testing.typed(testing.content_router("chat-router", "serving", service="chat")),
        ])  # fmt: skip
        yield s


@pytest.fixture
def router() -> Iterator[app.InThread]:
    cfg = replica_server.ReplicaConfig(model="tiny")
    with replica_run.start(cfg) as a, replica_run.start(cfg) as b:
        running = app.InThread(config.RouterConfig((a.url, b.url)), "127.0.0.1", 0)
        try:
            yield running
        finally:
            running.stop()


def _statuses(
    store: sqlite.SqliteStore,
) -> tuple[routing.ContentRouterStatus, inference.InferenceServiceStatus]:
    cr = store.get("ContentRouter", "chat-router", "serving")
    svc = store.get("InferenceService", "chat", "serving")
    assert isinstance(cr, routing.ContentRouter) and isinstance(svc, inference.InferenceService)
    return cr.status, svc.status


def _ask(url: str, session: int, turn: int) -> int:
    """A streamed request; returns the tokens its usage reports."""
    prompt = " ".join(f"s{session}w{i}" for i in range(300 + 50 * turn))
    body = {
        "model": "tiny",
        "prompt": prompt,
        "max_tokens": 4,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with httpx.stream("POST", f"{url}/v1/completions", json=body, trust_env=False) as answer:
        assert answer.status_code == 200
        events = [line for line in answer.iter_lines() if line.startswith("data: {")]
    used = json.loads(events[-1].removeprefix("data: "))["usage"]
    return int(used["prompt_tokens"]) + int(used["completion_tokens"])


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_status_carries_what_the_router_measured(
    store: sqlite.SqliteStore, router: app.InThread
) -> None:
    publisher = publish.Publisher(
        store, "chat-router", "serving", router.router.metrics.recent.summary, lambda: MOMENT
    )
    time.sleep(1.0)  # a window younger than a second measures nothing yet
    assert publisher.publish_once(), "an idle router publishes its zero load"
    idle, _ = _statuses(store)
    assert idle.requests_per_second == 0.0 and idle.ttft_p95_ms is None

    tokens = sum(_ask(router.url, session, turn) for session in range(4) for turn in range(5))
    assert publisher.publish_once()
    cr, svc = _statuses(store)
    seconds = cr.observed_window_seconds
    assert seconds is not None and 1.0 <= seconds <= 60.0
    assert cr.requests_per_second == pytest.approx(20 / seconds, rel=0.01)
    assert cr.tokens_per_second == pytest.approx(tokens / seconds, rel=0.01)
    assert cr.ttft_p50_ms is not None and cr.ttft_p95_ms is not None
    assert 0 < cr.ttft_p50_ms <= cr.ttft_p95_ms < 10_000
    assert cr.prefix_hit_rate is not None and 0.3 < cr.prefix_hit_rate < 1, (
        "later turns of a session repeat its earlier prompt"
    )
    assert cr.last_sample_time == MOMENT
    assert (svc.requests_per_second, svc.latency_p95) == (cr.requests_per_second, cr.ttft_p95_ms)
    assert svc.last_sample_time == MOMENT
    assert cr.ready_replicas == 0 and svc.endpoints == [], "other status fields are kept"

    publisher.stop(clear=True)
    cleared, svc = _statuses(store)
    assert (cleared.requests_per_second, cleared.ttft_p95_ms, cleared.last_sample_time) == (
        None,
        None,
        None,
    )
    assert (svc.requests_per_second, svc.latency_p95) == (None, None)


def test_publisher_thread_writes_on_its_period(
    store: sqlite.SqliteStore, router: app.InThread
) -> None:
    summary = router.router.metrics.recent.summary
    publisher = publish.Publisher(
        store, "chat-router", "serving", summary, lambda: MOMENT, period=0.2
    ).start()
    try:
        for turn in range(3):
            _ask(router.url, 0, turn)
        _eventually(lambda: (_statuses(store)[0].requests_per_second or 0) > 0)
        _eventually(lambda: _statuses(store)[1].latency_p95 is not None)
    finally:
        publisher.stop(clear=False)
    assert _statuses(store)[0].requests_per_second is not None, "kept when not cleared"


def test_a_stopped_router_clears_its_service_even_when_its_router_is_gone(
    store: sqlite.SqliteStore,
) -> None:
    figures = window.Summary(30.0, 60, 2.0, 0.05, 0.2, 0.5, 900.0)
    publisher = publish.Publisher(store, "chat-router", "serving", lambda: figures, lambda: MOMENT)
    assert publisher.publish_once()
    assert not publisher.publish_once(), "unchanged figures are not written again"
    assert _statuses(store)[1].latency_p95 == 200.0
    store.delete("ContentRouter", "chat-router", "serving")
    publisher.stop(clear=True)
    svc = store.get("InferenceService", "chat", "serving")
    assert isinstance(svc, inference.InferenceService)
    assert (svc.status.requests_per_second, svc.status.latency_p95) == (None, None)
