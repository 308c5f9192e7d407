"""The one way this backend talks to the API server: a declared call, JSON in and out.

Every request names its `calls.ApiCall`, and one that is not declared (so not granted by
`deploy/rbac.yaml`) is refused before it leaves the process: a missing grant shows up in tests,
not as a 403 on someone's cluster. Failures are reduced to the API's own message, since that is
what a person reads in an Event or a gang's condition.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import kr8s
import kr8s.asyncio

from k8s4ai.backends.kubernetes import calls

DECLARED = calls.CLUSTER_CALLS | calls.NAMESPACE_CALLS
API_FAILURES = (kr8s.ServerError, kr8s.APITimeoutError, httpx.HTTPError)
"""What a request can raise when the server refuses it or cannot be reached."""


class UndeclaredCallError(RuntimeError):
    """A request whose ApiCall is not declared (and so not granted by deploy/rbac.yaml)."""


async def request(
    api: kr8s.asyncio.Api,
    call: calls.ApiCall,
    method: str,
    url: str,
    namespace: str | None = None,
    body: dict[str, Any] | None = None,
    version: str = "v1",
    content_type: str = "application/json",
) -> dict[str, Any]:
    """The response body as JSON (empty when there is none). A PATCH names its kind of
    patch in `content_type` (`application/strategic-merge-patch+json` merges a pod's
    conditions by type instead of replacing the list)."""
    if call not in DECLARED:
        raise UndeclaredCallError(f"{call} is not declared in backends/kubernetes/calls.py")
    content = None if body is None else json.dumps(body)
    headers = {"Content-Type": content_type} if body is not None else None
    async with api.call_api(
        method, version=version, namespace=namespace, url=url, content=content, headers=headers
    ) as response:
        if not response.content:
            return {}
        data: dict[str, Any] = response.json()
        return data


def reason(err: Exception) -> str:
    """The code and the API's own message (a Status object's `message`) when there is one;
    kr8s keeps it for 4xx answers only."""
    if isinstance(err, kr8s.ServerError) and err.response is not None:
        message = str(err)
        with contextlib.suppress(ValueError, KeyError, TypeError):
            message = str(err.response.json()["message"])
        return f"{err.response.status_code} {message}"
    return f"{type(err).__name__}: {err}"


async def watch(
    api: kr8s.asyncio.Api,
    call: calls.ApiCall,
    url: str,
    params: dict[str, str],
    namespace: str | None = None,
    version: str = "v1",
) -> AsyncIterator[dict[str, Any]]:
    """The events of one watch stream until the server ends it. kr8s's own watch is not used:
    it neither goes through a declared call nor relists on 410 Gone (it retries from the same
    version), which `reflector` needs to do."""
    if call not in DECLARED:
        raise UndeclaredCallError(f"{call} is not declared in backends/kubernetes/calls.py")
    async with api.call_api(
        "GET",
        version=version,
        namespace=namespace,
        url=url,
        stream=True,
        params={**params, "watch": "true"},
        timeout=None,
    ) as response:
        async for line in response.aiter_lines():
            if line.strip():
                event: dict[str, Any] = json.loads(line)
                yield event
