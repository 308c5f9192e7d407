"""A router started from the store follows its ContentRouter and InferenceService: replicas
that join the service's endpoints take traffic once healthy, replicas that leave take none."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from k8s4ai import testing
from k8s4ai.router import app, config, follow, replicas
from k8s4ai.store import sqlite
from tests.router import upstream


@pytest.fixture
def store(tmp_path: Path) -> Iterator[sqlite.SqliteStore]:
    with sqlite.SqliteStore(tmp_path / "store.db") as s:
        s.apply([
            testing.typed(testing.inference_service("chat", "serving", model="m", replicas=2)),
            testing.typed(testing.content_router("chat-router", "serving", service="chat")),
        ])  # fmt: skip
        yield s


def _set_endpoints(store: sqlite.SqliteStore, *urls: str) -> None:
    status = {"status": {"endpoints": list(urls), "readyReplicas": len(urls)}}
    store.patch("InferenceService", "chat", "serving", status, subresource="status")


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_replica_set_update_keeps_known_replicas_and_holds_new_ones_back() -> None:
    pool = replicas.ReplicaSet.of(("http://a", "http://b"), eject_after=2)
    pool.replicas[0].outstanding = 3
    probed = replicas.Replica("http://d", 0, models=frozenset({"m"}))
    dropped = pool.update(("http://a", "http://c", "http://d"), [probed])
    assert [r.url for r in dropped] == ["http://b"]
    a, c, d = pool.replicas
    assert a.outstanding == 3, "a kept replica keeps its load"
    assert not c.healthy, "an unprobed replica waits for a good probe"
    assert d is probed and d.healthy and d.models == {"m"}
    assert [c.index, d.index] == [2, 3]
    assert [r.url for r in pool.candidates("m")] == ["http://a", "http://d"]
    pool.succeeded(c)
    assert pool.get("http://c") is c and c.healthy
    assert pool.get("http://b") is None


def test_resolve_takes_endpoints_from_the_named_service(store: sqlite.SqliteStore) -> None:
    with pytest.raises(follow.NoReplicasError, match="has no ready endpoints"):
        follow.resolve(store, "chat-router", "serving")
    _set_endpoints(store, "http://127.0.0.1:1/", "http://127.0.0.1:2")
    spec = follow.resolve(store, "chat-router", "serving")
    assert spec.endpoints == ["http://127.0.0.1:1/", "http://127.0.0.1:2"]
    assert follow.endpoints(store, "chat-router", "serving") == (
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
    )
    assert follow.endpoints(store, "missing", "serving") == ()


def test_follower_reports_each_change_once_and_keeps_the_last_on_empty(
    store: sqlite.SqliteStore,
) -> None:
    _set_endpoints(store, "http://127.0.0.1:1")
    seen: list[tuple[str, ...]] = []
    changed = threading.Event()

    def record(urls: tuple[str, ...]) -> None:
        seen.append(urls)
        changed.set()

    follower = follow.Follower(
        store, "chat-router", "serving", ("http://127.0.0.1:1",), record, wait_seconds=0.2
    ).start()
    try:
        _set_endpoints(store, "http://127.0.0.1:1", "http://127.0.0.1:2")
        assert changed.wait(10)
        _set_endpoints(store, "http://127.0.0.1:1", "http://127.0.0.1:2")  # no change
        other = testing.content_router("other", "serving", endpoints=["http://127.0.0.1:9"])
        store.apply([testing.typed(other)])
        _set_endpoints(store)  # a service between replicas keeps the last ones
        store.delete("InferenceService", "chat", "serving")
        changed.clear()
        repoint = {"spec": {"endpoints": ["http://127.0.0.1:3"]}}
        store.patch("ContentRouter", "chat-router", "serving", repoint)
        assert changed.wait(10)
    finally:
        follower.stop()
    assert seen == [("http://127.0.0.1:1", "http://127.0.0.1:2"), ("http://127.0.0.1:3",)]
    assert follower.error is None


@pytest.mark.integration
@pytest.mark.asyncio
async def test_live_router_routes_to_joined_replicas_and_not_to_removed_ones() -> None:
    a, b, c = upstream.Upstream(name="a"), upstream.Upstream(name="b"), upstream.Upstream(name="c")
    url_a, url_b, url_c = [await u.start() for u in (a, b, c)]
    cfg = config.RouterConfig((url_a, url_b), policy="round-robin", health_interval=30)
    running = await app.start(cfg)
    body = {"model": "m", "prompt": "hi", "max_tokens": 1}

    async def served_by(count: int) -> set[str]:
        names = set()
        async with aiohttp.ClientSession() as session:
            for _ in range(count):
                async with session.post(f"{running.url}/v1/completions", json=body) as r:
                    assert r.status == 200
                    names.add((await r.json())["replica"])
        return names

    try:
        assert await served_by(4) == {"a", "b"}
        await running.router.set_endpoints((url_b, url_c))
        assert await served_by(6) == {"b", "c"}, "c joins after its probe; a is gone"
        await asyncio.sleep(0)
        healthy = [
            line
            for line in running.router.metrics.render().decode().splitlines()
            if line.startswith("k8s4ai_router_replica_healthy{")
        ]
        assert not any(url_a in line for line in healthy), "a dropped replica has no gauge"
        assert any(url_c in line and line.endswith(" 1.0") for line in healthy)
    finally:
        await running.stop()
        for u in (a, b, c):
            await u.stop()
