"""The OpenAI wire format as the mock replica speaks it: reading completion and chat
requests, writing responses, stream chunks and errors.

Chat messages are rendered by joining their text contents with newlines; roles are not
tokens. So a one-message chat and a completion with the same text hit the same cache blocks.
The replica always generates `max_tokens` tokens (16 when absent, OpenAI's completions
default) and finishes with reason ``length``. Fields the mock does not use (temperature,
stop, and the extra fields routers add) are accepted and ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from k8s4ai.testing.replica import tokens

DEFAULT_MAX_TOKENS = 16
OUTPUT_WORD = " token"
"""The text of one generated token."""


class OpenAIError(Exception):
    """An error answered as ``{"error": {message, type, param, code}}`` with `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        error = {"message": self.message, "type": self.kind, "param": self.param}
        return {"error": {**error, "code": self.code}}


def bad_request(message: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param=param)


@dataclass(frozen=True, slots=True)
class Generation:
    """A validated completion or chat request."""

    chat: bool
    model: str
    tokens: list[bytes]
    max_tokens: int
    stream: bool
    include_usage: bool


def check_model(body: dict[str, Any], served: str) -> str:
    """The requested model: absent means the served one (as vLLM does); any other name is
    a 404 in OpenAI's words."""
    model = body.get("model", served)
    if model is None:
        return served
    if not isinstance(model, str):
        raise bad_request("'model' must be a string", "model")
    if model != served:
        raise OpenAIError(
            404,
            f"The model `{model}` does not exist.",
            param="model",
            code="model_not_found",
        )
    return model


def prompt_tokens(body: dict[str, Any], chat: bool) -> list[bytes]:
    """The tokens of a request's prompt (`prompt` for completions, `messages` for chat)."""
    found = _messages(body.get("messages")) if chat else _prompt(body.get("prompt"))
    if not found:
        raise bad_request("the prompt is empty", "messages" if chat else "prompt")
    return found


def parse(body: dict[str, Any], *, chat: bool, served: str, max_model_len: int) -> Generation:
    model = check_model(body, served)
    found = prompt_tokens(body, chat)
    max_tokens = _max_tokens(body, chat)
    if body.get("n", 1) != 1:
        raise bad_request("the mock replica generates one choice per request (n=1)", "n")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_request("'stream' must be a boolean", "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise bad_request("'stream_options' must be an object", "stream_options")
    if options is not None and not stream:
        raise bad_request("'stream_options' is only allowed with 'stream': true", "stream_options")
    if len(found) + max_tokens > max_model_len:
        raise bad_request(
            f"This model's maximum context length is {max_model_len} tokens. However, you "
            f"requested {len(found) + max_tokens} tokens ({len(found)} in the prompt, "
            f"{max_tokens} for the completion). Please reduce the length of the prompt or "
            "of the completion.",
            "messages" if chat else "prompt",
        )
    include_usage = bool((options or {}).get("include_usage", False))
    return Generation(chat, model, found, max_tokens, stream, include_usage)


def _prompt(prompt: Any) -> list[bytes]:
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str | list):
        prompt = prompt[0]
    if isinstance(prompt, str):
        return tokens.split(prompt)
    if isinstance(prompt, list) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in prompt
    ):
        return tokens.from_ids(prompt)
    raise bad_request(
        "'prompt' must be a string or a list of token ids (one prompt per request)", "prompt"
    )


def _messages(messages: Any) -> list[bytes]:
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list", "messages")
    texts = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise bad_request(f"messages[{i}] must be an object with a 'role'", "messages")
        texts.append(_content(message.get("content"), i))
    return tokens.split("\n".join(texts))


def _content(content: Any, index: int) -> str:
    """A message's text: a string, or the text parts of a list (other parts are skipped)."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict):
                break
            if part.get("type", "text") == "text":
                text = part.get("text")
                if not isinstance(text, str):
                    break
                texts.append(text)
        else:
            return "\n".join(texts)
    raise bad_request(
        f"messages[{index}].content must be a string or a list of content parts", "messages"
    )


def _max_tokens(body: dict[str, Any], chat: bool) -> int:
    name = "max_completion_tokens" if chat and "max_completion_tokens" in body else "max_tokens"
    value = body.get(name)
    if value is None:
        return DEFAULT_MAX_TOKENS
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise bad_request(f"'{name}' must be a positive integer", name)
    return value


def usage(generation: Generation, cached_tokens: int, completion_tokens: int) -> dict[str, Any]:
    prompt = len(generation.tokens)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
    }


@dataclass(frozen=True, slots=True)
class Writer:
    """Builds the bodies of one request's response."""

    generation: Generation
    request_id: str
    created: int

    def _head(self, chunk: bool) -> dict[str, Any]:
        kind = "chat.completion" if self.generation.chat else "text_completion"
        if chunk and self.generation.chat:
            kind += ".chunk"
        return {
            "id": self.request_id,
            "object": kind,
            "created": self.created,
            "model": self.generation.model,
        }

    def chunk(self, count: int, first: bool, last: bool) -> bytes:
        """One SSE event carrying `count` generated tokens."""
        text = OUTPUT_WORD * count
        finish = "length" if last else None
        if self.generation.chat:
            delta = {"role": "assistant", "content": text} if first else {"content": text}
            choice: dict[str, Any] = {"index": 0, "delta": delta}
        else:
            choice = {"index": 0, "text": text}
        choice |= {"logprobs": None, "finish_reason": finish}
        return event({**self._head(True), "choices": [choice]})

    def usage_chunk(self, cached_tokens: int, completion_tokens: int) -> bytes:
        body = {**self._head(True), "choices": []}
        return event(body | {"usage": usage(self.generation, cached_tokens, completion_tokens)})

    def whole(self, cached_tokens: int, completion_tokens: int) -> dict[str, Any]:
        text = OUTPUT_WORD * completion_tokens
        if self.generation.chat:
            choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}}
        else:
            choice = {"index": 0, "text": text}
        choice |= {"logprobs": None, "finish_reason": "length"}
        return {
            **self._head(False),
            "choices": [choice],
            "usage": usage(self.generation, cached_tokens, completion_tokens),
        }


DONE = b"data: [DONE]\n\n"


def event(body: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
