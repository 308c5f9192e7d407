"""The small JSONPath subset printer columns use: `.a.b`, `.a[0].b`, `.a[*].b`."""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\*|[0-9]+)\]")


def evaluate(path: str, data: Any) -> list[Any]:
    values = [data]
    for match in _STEP.finditer(path):
        key, index = match.groups()
        nxt: list[Any] = []
        for value in values:
            if key is not None and isinstance(value, dict) and key in value:
                nxt.append(value[key])
            elif index == "*" and isinstance(value, list):
                nxt.extend(value)
            elif index not in (None, "*") and isinstance(value, list) and int(index) < len(value):
                nxt.append(value[int(index)])
        values = nxt
    return values


def render(path: str, data: Any) -> str:
    """A cell: list values joined by commas, maps as k=v, absent as `<none>`."""
    parts = []
    for value in evaluate(path, data):
        if isinstance(value, dict):
            parts.append(",".join(f"{k}={v}" for k, v in value.items()))
        elif isinstance(value, list):
            parts.append(",".join(str(v) for v in value))
        elif isinstance(value, bool):
            parts.append(str(value).lower())
        elif isinstance(value, float) and value == int(value):
            parts.append(str(int(value)))
        else:
            parts.append(str(value))
    return ",".join(parts) if parts else "<none>"
