"""Reading the server's cost source for an HTTP answer, and keeping what was computed from one
cost view while the source keeps handing out that view: the live plane shares a view for up
to 5 s while the store is unchanged (`controllers.cost_controller`), so a dashboard's calls
and redraws in that time price the ledger once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from k8s4ai.finops import view
from k8s4ai.server import status

T = TypeVar("T")

log = logging.getLogger(__name__)


class PerView:
    """Answers derived from the current cost view, dropped when the source hands out a new
    one (compared by identity: a new view is a new moment)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._view: view.CostView | None = None
        self._answers: dict[Hashable, Any] = {}

    def get(self, current: view.CostView, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if self._view is not current:
                self._view, self._answers = current, {}
            elif key in self._answers:
                found: T = self._answers[key]
                return found
        value = compute()
        with self._lock:
            if self._view is current:
                self._answers[key] = value
        return value


def require(source: view.CostSource | None) -> view.CostSource:
    """The source, or a 404 that says the server has none."""
    if source is None:
        raise status.ApiError(
            404, "cost reporting is not configured on this server: it was started without a "
            "cost source (a ledger and prices), so there is nothing to allocate",
        )
    return source


async def current(source: view.CostSource | None) -> view.CostView:
    """The source's view off the event loop; 404 without a source, 503 if it fails."""
    source = require(source)
    try:
        return await run_in_threadpool(source)
    except Exception as err:  # whatever the source is, the client only needs to know it failed
        log.warning("the cost source failed", exc_info=err)
        raise status.ApiError(503, f"the cost source failed: {type(err).__name__}: {err}"
                              ) from None
