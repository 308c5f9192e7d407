"""A running router's measurements, written into its ContentRouter's status and its
InferenceService's, so the dashboard and remediation read load and latency from the public
API instead of from each router's /metrics.

Written through the status subresource every `period` seconds, and only when a figure
changed: an idle router does not write the same zeros every few seconds. A figure the window
cannot give (no streamed answer yet: no TTFT) is written as null, "not measured", never 0.
When a service has several routers, the last one to write wins.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from k8s4ai.api import inference, routing
from k8s4ai.router import window
from k8s4ai.store import errors, interface

log = logging.getLogger(__name__)

DEFAULT_PERIOD = 5.0
MEASURED_ROUTER = (
    "requestsPerSecond",
    "ttftP50Ms",
    "ttftP95Ms",
    "prefixHitRate",
    "tokensPerSecond",
    "observedWindowSeconds",
    "lastSampleTime",
)
MEASURED_SERVICE = ("requestsPerSecond", "latencyP95", "lastSampleTime")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 2)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def router_status(summary: window.Summary) -> dict[str, Any]:
    return {
        "requestsPerSecond": _round(summary.requests_per_second),
        "ttftP50Ms": _ms(summary.ttft_p50),
        "ttftP95Ms": _ms(summary.ttft_p95),
        "prefixHitRate": _round(summary.prefix_hit_rate, 4),
        "tokensPerSecond": _round(summary.tokens_per_second, 1),
        "observedWindowSeconds": _round(summary.seconds),
    }


def service_status(summary: window.Summary) -> dict[str, Any]:
    return {
        "requestsPerSecond": _round(summary.requests_per_second),
        "latencyP95": _ms(summary.ttft_p95),
    }


class Publisher:
    """Publishes one router's window for the ContentRouter `name` in `namespace`."""

    def __init__(
        self,
        store: interface.Store,
        name: str,
        namespace: str,
        summary: Callable[[], window.Summary | None],
        clock: Callable[[], datetime],
        period: float = DEFAULT_PERIOD,
    ) -> None:
        self._store = store
        self._name = name
        self._namespace = namespace
        self._summary = summary
        self._clock = clock
        self._period = period
        self._last: dict[str, Any] | None = None
        self._service_written: str | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"k8s4ai-router-publish-{name}", daemon=True
        )

    def start(self) -> Publisher:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopping.wait(self._period):
            try:
                self.publish_once()
            except errors.StoreError as err:  # the next period tries again
                log.warning("router %s/%s: no status: %s", self._namespace, self._name, err)

    def publish_once(self) -> bool:
        """Write the figures if they changed since the last write; whether it wrote."""
        summary = self._summary()
        if summary is None:
            return False
        figures = router_status(summary)
        if figures == self._last:
            return False
        at = self._clock().isoformat()
        self._patch(routing.ContentRouter.kind_name, self._name, figures | {"lastSampleTime": at})
        service = self._service()
        if service is not None:
            status = service_status(summary) | {"lastSampleTime": at}
            self._patch(inference.InferenceService.kind_name, service, status)
            self._service_written = service
        self._last = figures
        return True

    def _service(self) -> str | None:
        try:
            found = self._store.get(routing.ContentRouter.kind_name, self._name, self._namespace)
        except errors.NotFound:
            return None
        assert isinstance(found, routing.ContentRouter)
        return found.spec.service

    def _patch(self, kind: str, name: str, status: dict[str, Any]) -> None:
        patch = {"status": status}
        self._store.patch(kind, name, self._namespace, patch, subresource="status")

    def stop(self, clear: bool = True, timeout: float = 5.0) -> None:
        """Stop publishing; with `clear`, empty the figures, which no router measures now
        (the service's too, even when the ContentRouter is gone)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if not clear or self._last is None:
            return
        with contextlib.suppress(errors.StoreError):
            self._patch(routing.ContentRouter.kind_name, self._name, dict.fromkeys(MEASURED_ROUTER))
        if self._service_written is not None:
            empty = dict.fromkeys(MEASURED_SERVICE)
            with contextlib.suppress(errors.StoreError):
                self._patch(inference.InferenceService.kind_name, self._service_written, empty)
