"""Tokens an answer used, read from the `usage` object OpenAI-compatible servers put in a
whole answer or (with `stream_options.include_usage`) in the last event of a stream. The
router's tokens/s comes from here rather than from its own guess at the tokenizer."""

from __future__ import annotations

import json

TAIL_BYTES = 4096
"""How much of a stream's end to keep: the usage event and `[DONE]` fit well inside it."""
_KEY = b'"usage"'


def tokens(data: bytes) -> int | None:
    """Prompt plus completion tokens from a JSON answer or a stream's tail; None when the
    answer does not say."""
    at = data.rfind(_KEY)
    if at < 0:
        return None
    start = data.rfind(b"data:", 0, at)
    if start >= 0:
        end = data.find(b"\n", at)
        text = data[start + 5 : end if end >= 0 else len(data)]
    else:
        text = data
    try:
        usage = json.loads(text).get("usage")
        return int(usage["prompt_tokens"]) + int(usage.get("completion_tokens") or 0)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
