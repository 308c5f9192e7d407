"""The mock replica over HTTP: OpenAI completions and chat, streamed and not, with usage
and true cache hits; OpenAI-style errors; `/v1/models`, `/health`, `/metrics`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from k8s4ai.testing import replica
from k8s4ai.testing.replica import latency, metrics, protocol, tokens

pytestmark = pytest.mark.integration

BLOCK = tokens.BLOCK_TOKENS
DOC = " ".join(f"w{i}" for i in range(2 * BLOCK + 10))


def events(raw: str) -> list[Any]:
    datas = [line[6:] for line in raw.split("\n") if line.startswith("data: ")]
    return [d if d == "[DONE]" else json.loads(d) for d in datas]


def test_completion_reports_usage_and_true_cache_hits(mock: replica.RunningReplica) -> None:
    with httpx.Client(base_url=mock.url) as client:
        body = {"model": "mock-8b", "prompt": DOC, "max_tokens": 7}
        cold = client.post("/v1/completions", json=body).json()
        warm = client.post("/v1/completions", json=body).json()
        scraped = metrics.read(client.get("/metrics").text)
    assert cold["object"] == "text_completion"
    assert cold["choices"][0]["text"] == protocol.OUTPUT_WORD * 7
    assert cold["choices"][0]["finish_reason"] == "length"
    assert cold["usage"] == {
        "prompt_tokens": 2 * BLOCK + 10,
        "completion_tokens": 7,
        "total_tokens": 2 * BLOCK + 17,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    assert warm["usage"]["prompt_tokens_details"]["cached_tokens"] == 2 * BLOCK
    assert scraped.sequences == 2
    assert scraped.prompt_tokens == 2 * (2 * BLOCK + 10)
    assert scraped.cached_tokens == 2 * BLOCK
    assert scraped.generation_tokens == 14


def test_chat_streams_sse_chunks_and_usage(mock: replica.RunningReplica) -> None:
    body = {
        "model": "mock-8b",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": DOC}],
        "max_tokens": 40,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with (
        httpx.Client(base_url=mock.url) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    found = events(raw)
    assert found[-1] == "[DONE]"
    chunks, usage = found[:-2], found[-2]
    assert chunks[0]["object"] == "chat.completion.chunk"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"]["content"] for c in chunks)
    assert text == protocol.OUTPUT_WORD * 40
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "length"
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 40
    assert usage["usage"]["prompt_tokens"] == 2 + 2 * BLOCK + 10


def test_a_chat_and_a_completion_of_the_same_text_share_blocks(
    mock: replica.RunningReplica,
) -> None:
    with httpx.Client(base_url=mock.url) as client:
        client.post("/v1/completions", json={"prompt": DOC, "max_tokens": 1})
        chat = client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": [{"type": "text", "text": DOC}]}]},
        ).json()
    assert chat["usage"]["prompt_tokens_details"]["cached_tokens"] == 2 * BLOCK
    assert chat["choices"][0]["message"]["content"] == protocol.OUTPUT_WORD * 16


def test_the_first_chunk_comes_before_the_last(
    start_replica: Callable[..., replica.RunningReplica],
) -> None:
    slow_decode = latency.LatencyModel(decode_seconds_per_token=0.002, decode_seconds_per_running=0)
    running = start_replica(latency=slow_decode)
    body = {"prompt": "hello", "max_tokens": 200, "stream": True}
    with (
        httpx.Client(base_url=running.url) as client,
        client.stream("POST", "/v1/completions", json=body) as response,
    ):
        parts = list(response.iter_raw())
    assert len(parts) >= 5  # 0.4 s of decoding, a chunk every 20 ms


def test_prompts_may_be_token_ids(mock: replica.RunningReplica) -> None:
    with httpx.Client(base_url=mock.url) as client:
        answer = client.post("/v1/completions", json={"prompt": [[1, 2, 3]], "max_tokens": 1})
    assert answer.json()["usage"]["prompt_tokens"] == 3


@pytest.mark.parametrize(
    ("path", "content", "status", "param"),
    [
        ("/v1/completions", {"model": "other", "prompt": "x"}, 404, "model"),
        ("/v1/chat/completions", {"model": "other", "messages": []}, 404, "model"),
        ("/v1/completions", b"{not json", 400, None),
        ("/v1/completions", b"[1, 2]", 400, None),
        ("/v1/completions", {"max_tokens": 3}, 400, "prompt"),
        ("/v1/completions", {"prompt": ["a", "b"]}, 400, "prompt"),
        ("/v1/completions", {"prompt": "x", "max_tokens": 0}, 400, "max_tokens"),
        ("/v1/completions", {"prompt": "x", "n": 2}, 400, "n"),
        ("/v1/completions", {"prompt": "x", "stream_options": {}}, 400, "stream_options"),
        ("/v1/completions", {"prompt": "x", "stream": "yes"}, 400, "stream"),
        ("/v1/completions", {"prompt": "x " * 60, "max_tokens": 50}, 400, "prompt"),
        ("/v1/chat/completions", {"messages": [{"content": "x"}]}, 400, "messages"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": 3}]}, 400, "messages"),
    ],
    ids=[
        "unknown-model",
        "unknown-model-chat",
        "malformed-json",
        "not-an-object",
        "no-prompt",
        "two-prompts",
        "zero-max-tokens",
        "n-above-1",
        "stream-options-without-stream",
        "stream-not-bool",
        "over-context",
        "message-without-role",
        "bad-content",
    ],
)
def test_bad_requests_get_openai_errors(
    start_replica: Callable[..., replica.RunningReplica],
    path: str,
    content: dict[str, Any] | bytes,
    status: int,
    param: str | None,
) -> None:
    running = start_replica(max_model_len=100)
    with httpx.Client(base_url=running.url) as client:
        if isinstance(content, bytes):
            answer = client.post(path, content=content)
        else:
            answer = client.post(path, json=content)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param
    if status == 404:
        assert error["code"] == "model_not_found"


def test_oversized_bodies_get_413(start_replica: Callable[..., replica.RunningReplica]) -> None:
    running = start_replica(max_body_bytes=1000)
    with httpx.Client(base_url=running.url) as client:
        answer = client.post("/v1/completions", json={"prompt": "x" * 2000})
    assert answer.status_code == 413
    assert "1000 bytes" in answer.json()["error"]["message"]


def test_unknown_paths_and_methods_get_json_errors(mock: replica.RunningReplica) -> None:
    with httpx.Client(base_url=mock.url) as client:
        missing = client.get("/v2/nothing")
        wrong = client.get("/v1/completions")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405 and "GET /v1/completions" in wrong.json()["error"]["message"]


def test_models_health_and_metrics(mock: replica.RunningReplica) -> None:
    with httpx.Client(base_url=mock.url) as client:
        models = client.get("/v1/models").json()
        health = client.get("/health")
        client.post("/v1/completions", json={"model": "nope", "prompt": "x"})
        text = client.get("/metrics").text
    assert [m["id"] for m in models["data"]] == ["mock-8b"]
    assert health.status_code == 200
    assert 'k8s4ai_replica_requests_total{code="404",endpoint="completions"} 1.0' in text
    assert 'k8s4ai_replica_cache_blocks{model_name="mock-8b",state="capacity"} 16.0' in text
    assert 'vllm:num_requests_running{model_name="mock-8b"} 0.0' in text


def test_evictions_are_counted(start_replica: Callable[..., replica.RunningReplica]) -> None:
    running = start_replica(cache_blocks=2)
    with httpx.Client(base_url=running.url) as client:
        for name in ("a", "b"):
            text = " ".join(f"{name}{i}" for i in range(2 * BLOCK))
            client.post("/v1/completions", json={"prompt": text, "max_tokens": 1})
        scraped = metrics.read(client.get("/metrics").text)
    assert scraped.blocks_evicted == 2


def test_kill_cuts_streams_like_a_crash(
    start_replica: Callable[..., replica.RunningReplica],
) -> None:
    slow = latency.LatencyModel(decode_seconds_per_token=0.01, decode_seconds_per_running=0)
    running = start_replica(latency=slow)
    body = {"prompt": "hello", "max_tokens": 1000, "stream": True}
    with httpx.Client(base_url=running.url) as client:
        with (
            pytest.raises(httpx.HTTPError),
            client.stream("POST", "/v1/completions", json=body) as response,
        ):
            for i, _ in enumerate(response.iter_raw()):
                if i == 1:
                    running.kill()
        with pytest.raises(httpx.ConnectError):
            client.get("/health")
