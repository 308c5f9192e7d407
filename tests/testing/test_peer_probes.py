"""What routers ask of a replica besides completions: sglang-router reads `/server_info` and
`/model_info` (or the `get_` forms) at start and loads a tokenizer from the model path;
vllm-router posts each request to `/v1/completions/render` (falling back to `/tokenize`);
benchmarks empty the cache between runs with vLLM's and SGLang's reset endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from k8s4ai.testing import replica
from k8s4ai.testing.replica import tokens

pytestmark = pytest.mark.integration

DOC = " ".join(f"w{i}" for i in range(tokens.BLOCK_TOKENS + 5))


@pytest.mark.parametrize("path", ["/model_info", "/get_model_info"])
def test_model_info_names_the_model_and_its_folder(
    start_replica: Callable[..., replica.RunningReplica], path: str
) -> None:
    running = start_replica(model="m", model_path="/models/m")
    with httpx.Client(base_url=running.url) as client:
        info = client.get(path).json()
    assert info["model_path"] == info["tokenizer_path"] == "/models/m"
    assert info["served_model_name"] == "m" and info["is_generation"] is True


@pytest.mark.parametrize("path", ["/server_info", "/get_server_info"])
def test_server_info_states_capacity(
    start_replica: Callable[..., replica.RunningReplica], path: str
) -> None:
    running = start_replica(cache_blocks=8)
    with httpx.Client(base_url=running.url) as client:
        info = client.get(path).json()
    assert info["model_path"] == info["served_model_name"] == "mock-8b"
    assert info["max_total_num_tokens"] == 8 * tokens.BLOCK_TOKENS
    assert info["page_size"] == tokens.BLOCK_TOKENS


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/completions/render", {"model": "mock-8b", "prompt": DOC, "max_tokens": 3}),
        ("/v1/chat/completions/render", {"messages": [{"role": "user", "content": DOC}]}),
    ],
    ids=["completions", "chat"],
)
def test_render_returns_the_prompt_token_ids(
    mock: replica.RunningReplica, path: str, body: dict[str, object]
) -> None:
    with httpx.Client(base_url=mock.url) as client:
        rendered = client.post(path, json=body).json()
        scraped = client.get("/metrics").text
    assert isinstance(rendered, list) and len(rendered) == 1
    assert rendered[0]["token_ids"] == tokens.ids(tokens.split(DOC))
    assert rendered[0]["model"] == "mock-8b"
    assert "vllm:prompt_tokens_total" in scraped and "sequences_total" in scraped
    assert 'k8s4ai_replica_sequences_total{model_name="mock-8b"} 0.0' in scraped


def test_tokenize_counts_tokens(mock: replica.RunningReplica) -> None:
    with httpx.Client(base_url=mock.url) as client:
        found = client.post("/tokenize", json={"model": "mock-8b", "prompt": "a b  c"}).json()
        unknown = client.post("/tokenize", json={"model": "x", "prompt": "a"})
    assert found["count"] == 3 and found["tokens"] == tokens.ids([b"a", b"b", b"c"])
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/reset_prefix_cache"), ("GET", "/flush_cache")]
)
def test_reset_endpoints_empty_the_cache(
    mock: replica.RunningReplica, method: str, path: str
) -> None:
    body = {"prompt": DOC, "max_tokens": 1}
    with httpx.Client(base_url=mock.url) as client:
        client.post("/v1/completions", json=body)
        assert client.request(method, path).status_code == 200
        again = client.post("/v1/completions", json=body).json()
    assert again["usage"]["prompt_tokens_details"]["cached_tokens"] == 0


def test_the_written_tokenizer_splits_on_whitespace(tmp_path: Path) -> None:
    folder = tokens.write_tokenizer(tmp_path / "tok")
    spec = json.loads((folder / "tokenizer.json").read_text())
    assert spec["pre_tokenizer"] == {"type": "WhitespaceSplit"}
    assert spec["model"]["type"] == "WordLevel"
