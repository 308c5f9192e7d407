"""The optional summariser sends the findings to an OpenAI-compatible endpoint and falls
back to nothing on any failure."""

from __future__ import annotations

import json

import httpx

from k8s4ai.remediation import summarise


def test_sends_the_findings_and_returns_the_answer() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/chat/completions"
        seen.append(json.loads(request.content))
        answer = {"choices": [{"message": {"role": "assistant", "content": " Two jobs. "}}]}
        return httpx.Response(200, json=answer)

    text = summarise.summarise(
        ["[critical] oom-killed a", "[info] idle-notebook b"],
        "http://llm.local/",
        "tiny",
        transport=httpx.MockTransport(handler),
    )
    assert text == "Two jobs."
    (body,) = seen
    assert body["model"] == "tiny"
    (message,) = body["messages"]  # type: ignore[misc]
    assert message["content"].endswith("[critical] oom-killed a\n[info] idle-notebook b")


def test_any_failure_gives_none() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {"message": "down"}})

    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not json")

    for handler in (broken, garbage):
        transport = httpx.MockTransport(handler)
        assert summarise.summarise(["x"], "http://llm.local", "m", transport=transport) is None
    assert summarise.summarise([], "http://llm.local", "m") is None
