"""What routing needs from an OpenAI request body: the model, the prompt as text, and a
session key. Anything else in the body goes to the replica untouched."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from k8s4ai.router.policies import base


class InvalidRequestError(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class Parsed:
    routed: base.Routed
    stream: bool


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(
            part.get("text", "") if isinstance(part, Mapping) else str(part) for part in value
        )
    return "" if value is None else str(value)


def _prompt(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if all(isinstance(v, int) for v in value):
            return " ".join(map(str, value))
        return "\n".join(_prompt(v) for v in value)
    raise InvalidRequestError(
        "prompt: expected a string, a list of strings or a list of token ids", "prompt"
    )


def _messages(value: Any) -> str:
    if not isinstance(value, list) or not value:
        raise InvalidRequestError("messages: expected a non-empty list of messages", "messages")
    lines = []
    for i, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise InvalidRequestError(
                f"messages[{i}]: expected an object with role and content", "messages"
            )
        lines.append(f"{message.get('role', '')}: {_content(message.get('content'))}")
    return "\n".join(lines)


def parse(body: bytes, chat: bool, session_header: str | None) -> Parsed:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidRequestError(f"request body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("request body must be a JSON object")
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidRequestError("model: expected a string", "model")
    if chat:
        text = _messages(data.get("messages"))
    elif "prompt" not in data:
        raise InvalidRequestError("prompt: required", "prompt")
    else:
        text = _prompt(data["prompt"])
    user = data.get("user")
    session = session_header or (user if isinstance(user, str) and user else None)
    return Parsed(base.Routed(model, text, session), bool(data.get("stream", False)))
