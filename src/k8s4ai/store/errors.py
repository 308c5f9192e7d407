"""Store failures, each carrying the Kubernetes Status reason and HTTP code it maps to, so the
server and the CLI report them the way kubectl users expect."""

from __future__ import annotations

from collections.abc import Sequence

from k8s4ai.api import errors as api_errors


class StoreError(Exception):
    code: int = 500
    reason: str = "InternalError"

    def __init__(self, message: str, causes: Sequence[api_errors.FieldError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.causes = list(causes)


class NotFound(StoreError):  # noqa: N818 - Kubernetes' reason names
    code, reason = 404, "NotFound"


class AlreadyExists(StoreError):  # noqa: N818 - Kubernetes' reason names
    code, reason = 409, "AlreadyExists"


class Conflict(StoreError):  # noqa: N818 - Kubernetes' reason names
    """A write named a resourceVersion that is no longer current (optimistic concurrency)."""

    code, reason = 409, "Conflict"


class Gone(StoreError):  # noqa: N818 - Kubernetes' reason names
    """A watch asked to resume from a resourceVersion older than the retained event log."""

    code, reason = 410, "Expired"


class Invalid(StoreError):  # noqa: N818 - Kubernetes' reason names
    code, reason = 422, "Invalid"
