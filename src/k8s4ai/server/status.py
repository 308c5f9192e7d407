"""Failures as Kubernetes `Status` objects, so kubectl-minded clients and our own HttpStore
read every error the same way: a reason to branch on, a code, and per-field causes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from k8s4ai.api import errors as api_errors
from k8s4ai.store import errors as store_errors

_REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}

_CAUSE_TYPES = {
    "required field is missing": "FieldValueRequired",
    "unknown field": "FieldValueNotSupported",
}


class ApiError(Exception):
    """Raised anywhere below a route; the app turns it into a Status response."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        causes: Sequence[api_errors.FieldError] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASON_BY_CODE.get(code, "Unknown")
        self.kind = kind
        self.name = name
        self.causes = list(causes)

    def body(self) -> dict[str, Any]:
        return status(
            self.code, self.reason, self.message, kind=self.kind, name=self.name,
            causes=self.causes,
        )


def status(
    code: int,
    reason: str,
    message: str,
    *,
    kind: str | None = None,
    name: str | None = None,
    causes: Sequence[api_errors.FieldError] = (),
) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = [
            {
                "field": cause.path,
                "message": cause.reason,
                "reason": _CAUSE_TYPES.get(cause.reason, "FieldValueInvalid"),
            }
            for cause in causes
        ]
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def response(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.code)


def bad_request(message: str, *, kind: str | None = None, name: str | None = None) -> ApiError:
    return ApiError(400, message, kind=kind, name=name)


def from_store_error(
    err: store_errors.StoreError, *, kind: str | None = None, name: str | None = None
) -> ApiError:
    return ApiError(
        err.code, err.message, reason=err.reason, kind=kind, name=name, causes=err.causes
    )


def invalid(
    causes: Sequence[api_errors.FieldError], *, kind: str | None = None, name: str | None = None
) -> ApiError:
    """422 naming what is wrong, in Kubernetes' "<Kind> "<name>" is invalid: ..." wording."""
    what = f'{kind} "{name}"' if kind and name else (kind or "object")
    summary = "; ".join(str(cause) for cause in causes[:5])
    if len(causes) > 5:
        summary += f"; and {len(causes) - 5} more"
    return ApiError(422, f"{what} is invalid: {summary}", kind=kind, name=name, causes=causes)


def from_validation_error(
    err: ValidationError,
    *,
    kind: str | None = None,
    name: str | None = None,
    prefix: Sequence[int | str] = (),
) -> ApiError:
    return invalid(api_errors.from_validation_error(err, prefix), kind=kind, name=name)
