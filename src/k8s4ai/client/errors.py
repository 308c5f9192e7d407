"""Status responses back into the store's error classes, so code written against the
embedded store (`except errors.Conflict`) works unchanged against a server."""

from __future__ import annotations

from typing import Any

import httpx

from k8s4ai.api import errors as api_errors
from k8s4ai.store import errors as store_errors

_BY_REASON: dict[str, type[store_errors.StoreError]] = {
    "NotFound": store_errors.NotFound,
    "AlreadyExists": store_errors.AlreadyExists,
    "Conflict": store_errors.Conflict,
    "Expired": store_errors.Gone,
    "Gone": store_errors.Gone,
    "Invalid": store_errors.Invalid,
}


class ApiError(store_errors.StoreError):
    """A failure the store itself has no class for (401, 403, 413, 400...), keeping the
    server's code and reason."""

    def __init__(
        self,
        message: str,
        causes: list[api_errors.FieldError] | None = None,
        *,
        code: int = 500,
        reason: str = "InternalError",
    ) -> None:
        super().__init__(message, causes or [])
        self.code = code
        self.reason = reason


class UnavailableError(ApiError):
    """The server could not be reached, or did not answer in time."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=503, reason="ServiceUnavailable")


def from_status(body: Any, code: int | None = None) -> store_errors.StoreError:
    """The error a Status object describes; anything else becomes a generic ApiError."""
    if not isinstance(body, dict) or body.get("kind") != "Status":
        return ApiError(f"unexpected response: {str(body)[:200]}", code=code or 500)
    message = str(body.get("message", ""))
    reason = str(body.get("reason", ""))
    code = int(body.get("code", code or 500))
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    causes = [
        api_errors.FieldError(str(cause.get("field", "")), str(cause.get("message", "")))
        for cause in (details or {}).get("causes", [])
        if isinstance(cause, dict)
    ]
    known = _BY_REASON.get(reason)
    if known is not None:
        return known(message, causes)
    return ApiError(message, causes, code=code, reason=reason or "Unknown")


def from_response(response: httpx.Response) -> store_errors.StoreError:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:200] or response.reason_phrase
        return ApiError(f"HTTP {response.status_code}: {text}", code=response.status_code)
    return from_status(body, response.status_code)
