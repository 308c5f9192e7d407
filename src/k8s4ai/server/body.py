"""Reading request bodies under a size limit.

The limit is enforced on the bytes actually received, because Content-Length may be absent
(chunked uploads) or wrong. Past the limit the rest of the body is read and dropped, up to a
bound, so the client sees our 413 rather than a reset connection mid-upload.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request

from k8s4ai.server import status

DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024
"""Kubernetes' own limit on a request body."""

_DRAIN_FACTOR = 4
"""Beyond limit * this, stop being polite and let the connection close."""


def _too_large(limit: int) -> status.ApiError:
    return status.ApiError(
        413, f"request body is larger than the limit of {limit} bytes"
    )


async def read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit * _DRAIN_FACTOR:
        raise _too_large(limit)
    chunks: list[bytes] = []
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                chunks.clear()
                if received > limit * _DRAIN_FACTOR:
                    break
            else:
                chunks.append(chunk)
    except ClientDisconnect:
        raise status.bad_request("client disconnected while sending the body") from None
    if received > limit:
        raise _too_large(limit)
    return b"".join(chunks)


async def read_json(request: Request, limit: int, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; 400 when it is not one (or absent, unless optional)."""
    raw = await read(request, limit)
    if not raw.strip():
        if optional:
            return {}
        raise status.bad_request("request body is empty; expected a JSON object")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise status.bad_request(f"request body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise status.bad_request(
            f"request body must be a JSON object, not {type(data).__name__}"
        )
    return data
