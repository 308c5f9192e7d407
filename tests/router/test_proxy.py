"""The router in front of scripted replicas, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
import pytest_asyncio

from k8s4ai.router import app, config
from tests.router import upstream

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

Start = Callable[..., Awaitable[tuple[app.Running, list[upstream.Upstream]]]]


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest_asyncio.fixture
async def start() -> AsyncIterator[Start]:
    running: list[app.Running] = []
    ups: list[upstream.Upstream] = []

    async def _start(
        *replicas: upstream.Upstream, **cfg: object
    ) -> tuple[app.Running, list[upstream.Upstream]]:
        urls = [await r.start() for r in replicas]
        ups.extend(replicas)
        settings: dict[str, object] = {"policy": "round-robin", "health_interval": 0.1, **cfg}
        router = await app.start(config.RouterConfig(tuple(urls), **settings))  # type: ignore[arg-type]
        running.append(router)
        return router, list(replicas)

    yield _start
    for r in running:
        await r.stop()
    for u in ups:
        await u.stop()


def completion(prompt: str = "hello", model: str = "m", stream: bool = False) -> dict[str, object]:
    return {"model": model, "prompt": prompt, "stream": stream, "max_tokens": 4}


async def test_stream_is_passed_through_byte_for_byte(
    start: Start, session: aiohttp.ClientSession
) -> None:
    router, _ = await start(upstream.Upstream(stream_delay=0.01))
    async with session.post(f"{router.url}/v1/completions", json=completion(stream=True)) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        got = [chunk async for chunk in r.content.iter_any()]
    assert b"".join(got) == b"".join(upstream.STREAM_CHUNKS)
    assert len(got) >= 2, "chunks arrive as the replica sends them, not buffered to the end"


async def test_non_streaming_answer_and_chat(start: Start, session: aiohttp.ClientSession) -> None:
    router, (a,) = await start(upstream.Upstream())
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    async with session.post(f"{router.url}/v1/chat/completions", json=body) as r:
        assert r.status == 200 and (await r.json())["replica"] == "a"
    assert a.seen[-1]["messages"] == body["messages"], "the body reaches the replica unchanged"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"{not json", 400, "invalid_request"),
        (b"[1, 2]", 400, "invalid_request"),
        (json.dumps({"model": "m"}).encode(), 400, "invalid_request"),
        (json.dumps({"model": "other", "prompt": "x"}).encode(), 404, "model_not_found"),
        (json.dumps({"model": "m", "prompt": "x" * 5000}).encode(), 413, "request_too_large"),
    ],
    ids=["malformed", "not-an-object", "no-prompt", "unknown-model", "oversized"],
)
async def test_bad_requests_get_openai_errors(
    start: Start, session: aiohttp.ClientSession, data: bytes, status: int, code: str
) -> None:
    router, (a,) = await start(upstream.Upstream(), max_body_bytes=4096)
    async with session.post(
        f"{router.url}/v1/completions", data=data, headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == status
        error = (await r.json())["error"]
    assert error["code"] == code and error["message"] and "type" in error
    assert a.seen == [], "a bad request never reaches a replica"


async def test_requests_go_only_to_replicas_serving_the_model(
    start: Start, session: aiohttp.ClientSession
) -> None:
    router, (a, _b) = await start(
        upstream.Upstream(models=("llama",), name="a"),
        upstream.Upstream(models=("llama", "llama-lora-sql"), name="b"),
    )
    for _ in range(6):
        async with session.post(
            f"{router.url}/v1/completions", json=completion(model="llama-lora-sql")
        ) as r:
            assert (await r.json())["replica"] == "b"
    async with session.get(f"{router.url}/v1/models") as r:
        ids = {m["id"] for m in (await r.json())["data"]}
    assert ids == {"llama", "llama-lora-sql"}
    assert not a.seen


async def test_a_replica_dying_loses_no_request_that_had_not_started(
    start: Start, session: aiohttp.ClientSession
) -> None:
    router, (_a, b) = await start(upstream.Upstream(name="a"), upstream.Upstream(name="b"))

    async def one(i: int) -> int:
        async with session.post(f"{router.url}/v1/completions", json=completion(f"p{i}")) as r:
            await r.read()
            return r.status

    first = await asyncio.gather(*(one(i) for i in range(20)))
    await b.stop()
    second = await asyncio.gather(*(one(i) for i in range(40)))
    assert set(first) == {200} and set(second) == {200}
    replica_b = router.router.pool.get(b.url)
    assert replica_b is not None and not replica_b.healthy


async def test_a_stream_cut_midway_is_not_retried(
    start: Start, session: aiohttp.ClientSession
) -> None:
    router, (a, b) = await start(
        upstream.Upstream(name="a", die_after_chunks=1), upstream.Upstream(name="b")
    )
    with pytest.raises(aiohttp.ClientPayloadError):
        async with session.post(f"{router.url}/v1/completions", json=completion(stream=True)) as r:
            await r.read()
    assert len(a.seen) == 1 and not b.seen, "bytes were out: the router did not retry"


async def test_busy_replica_is_retried_elsewhere_then_ejected_and_readmitted(
    start: Start, session: aiohttp.ClientSession
) -> None:
    router, (a, _b) = await start(upstream.Upstream(name="a"), upstream.Upstream(name="b"))
    a.status = 503
    for i in range(4):
        async with session.post(f"{router.url}/v1/completions", json=completion(f"x{i}")) as r:
            assert r.status == 200 and (await r.json())["replica"] == "b"
    replica_a = router.router.pool.get(a.url)
    assert replica_a is not None and not replica_a.healthy
    a.status = 200
    for _ in range(50):
        if replica_a.healthy:
            break
        await asyncio.sleep(0.05)
    assert replica_a.healthy, "the next good probe puts it back"


async def test_health_and_metrics(start: Start, session: aiohttp.ClientSession) -> None:
    router, (a,) = await start(upstream.Upstream())
    async with session.post(f"{router.url}/v1/completions", json=completion()) as r:
        assert r.status == 200
    async with session.get(f"{router.url}/health") as r:
        assert r.status == 200 and (await r.json())["healthyReplicas"] == 1
    async with session.get(f"{router.url}/metrics") as r:
        text = await r.text()
    assert f'k8s4ai_router_requests_total{{code="200",replica="{a.url}"}} 1.0' in text
    assert "k8s4ai_router_overhead_seconds_count 1.0" in text


async def test_no_healthy_replica_is_503(start: Start, session: aiohttp.ClientSession) -> None:
    router, (a,) = await start(upstream.Upstream())
    await a.stop()
    statuses = []
    for _ in range(3):
        async with session.post(f"{router.url}/v1/completions", json=completion()) as r:
            statuses.append(r.status)
            error = (await r.json())["error"]
    assert statuses[-1] == 503 and error["code"] == "no_healthy_replica"
    async with session.get(f"{router.url}/health") as r:
        assert r.status == 503
