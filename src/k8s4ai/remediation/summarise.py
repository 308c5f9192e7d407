"""An optional one-paragraph summary of the findings from an OpenAI-compatible endpoint (a
vLLM or SGLang server, or a ContentRouter in front of one). Everything works without it:
any failure gives None and the plain lines stand on their own."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

PROMPT = (
    "You help the on-call engineer of a GPU cluster. Summarise these findings of the "
    "remediation engine in at most three plain sentences: what is wrong, what is being done, "
    "and what needs a human. Do not invent facts.\n\n"
)


def summarise(
    lines: Sequence[str],
    endpoint: str,
    model: str,
    timeout: float = 20.0,
    transport: httpx.BaseTransport | None = None,
) -> str | None:
    if not lines:
        return None
    body = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT + "\n".join(lines)}],
        "max_tokens": 200,
        "temperature": 0,
    }
    url = endpoint.rstrip("/") + "/v1/chat/completions"
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            response = client.post(url, json=body)
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        return None
    return text.strip() if isinstance(text, str) and text.strip() else None
