"""Prometheus metrics, named after kube-apiserver's so existing dashboards read them.

Each app gets its own CollectorRegistry, so two servers in one process (tests, `k8s4ai up`)
never share or collide on counters. Object counts are kept up to date from the store's event
log at scrape time, so a scrape costs one query per batch of new writes, not a full list.
"""

from __future__ import annotations

import abc
import threading
import time
from collections import Counter
from typing import Any

import prometheus_client
import prometheus_client.registry
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s4ai.api import registry
from k8s4ai.store import errors as store_errors
from k8s4ai.store import interface

_VERB = "k8s4ai_verb"
_RESOURCE = "k8s4ai_resource"
_EVENT_BATCH = 1000
_LONG_RUNNING = frozenset({"WATCH", "WAIT"})
"""Verbs that last as long as the client likes; their durations would drown the histogram."""


def label(request: Request, verb: str, resource: str = "") -> None:
    """Name the request for the metrics middleware (it only sees the raw path)."""
    state = request.scope.setdefault("state", {})
    state[_VERB] = verb
    state[_RESOURCE] = resource


class ObjectCounts:
    """Objects per kind, counted once and then moved forward by the event log's ADDED and
    DELETED events; a full recount only when the log was compacted past our cursor."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.listed_at: dict[str, int] = {}
        self.cursor: int | None = None

    def refresh(self, store: interface.Store) -> dict[str, int]:
        if self.cursor is None:
            self._recount(store)
        elif store.resource_version() > self.cursor:
            try:
                self._advance(store, self.cursor)
            except store_errors.Gone:
                self._recount(store)
        return {kind.kind_name: self.counts[kind.kind_name] for kind in registry.KINDS}

    def _recount(self, store: interface.Store) -> None:
        self.counts.clear()
        for kind in registry.KINDS:
            listed = store.list(kind.kind_name)
            self.counts[kind.kind_name] = len(listed.items)
            self.listed_at[kind.kind_name] = listed.resource_version
        self.cursor = min(self.listed_at.values(), default=0)

    def _advance(self, store: interface.Store, cursor: int) -> None:
        while True:
            events = store.events(cursor, limit=_EVENT_BATCH)
            for event in events:
                kind = event.object.kind
                if event.resource_version <= self.listed_at.get(kind, 0):
                    continue  # already in the count taken by the list
                if event.type == "ADDED":
                    self.counts[kind] += 1
                elif event.type == "DELETED":
                    self.counts[kind] -= 1
            if events:
                cursor = self.cursor = events[-1].resource_version
            if len(events) < _EVENT_BATCH:
                return


class RefreshedCollector(prometheus_client.registry.Collector, abc.ABC):
    """A collector whose samples `refresh` computes in the scrape's worker thread, so a slow
    source never blocks the event loop; `collect` only hands over the last ones."""

    @abc.abstractmethod
    def refresh(self) -> None:
        """Must not raise: a failing source is logged and its samples dropped."""


class Metrics:
    def __init__(self) -> None:
        self.registry = prometheus_client.CollectorRegistry(auto_describe=True)
        self.requests = prometheus_client.Counter(
            "k8s4ai_apiserver_request",
            "API requests by verb, resource and HTTP code.",
            ["verb", "resource", "code"],
            registry=self.registry,
        )
        self.latency = prometheus_client.Histogram(
            "k8s4ai_apiserver_request_duration_seconds",
            "Time to answer a non-watch API request.",
            ["verb", "resource"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.watchers = prometheus_client.Gauge(
            "k8s4ai_apiserver_registered_watchers",
            "Watch streams open now.",
            ["resource"],
            registry=self.registry,
        )
        self.watch_events = prometheus_client.Counter(
            "k8s4ai_apiserver_watch_events",
            "Events sent to watchers.",
            ["resource"],
            registry=self.registry,
        )
        self.objects = prometheus_client.Gauge(
            "k8s4ai_store_objects", "Objects stored, by kind.", ["kind"], registry=self.registry
        )
        self.resource_version = prometheus_client.Gauge(
            "k8s4ai_store_resource_version",
            "The store's latest resourceVersion.",
            registry=self.registry,
        )
        self._counts = ObjectCounts()
        self._counting = threading.Lock()
        self._refreshed: list[RefreshedCollector] = []

    def add(self, collector: RefreshedCollector) -> None:
        self.registry.register(collector)
        self._refreshed.append(collector)

    def refresh(self, store: interface.Store) -> None:
        """Blocking: run it in a worker thread, at scrape time. Concurrent scrapes take turns,
        so the event cursor is never advanced twice over the same events."""
        with self._counting:
            for collector in self._refreshed:
                collector.refresh()
            for kind, count in self._counts.refresh(store).items():
                self.objects.labels(kind).set(count)
            self.resource_version.set(store.resource_version())

    def render(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        started = time.perf_counter()
        code = 500

        async def send_and_note(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            verb = str(state.get(_VERB) or scope["method"])
            resource = str(state.get(_RESOURCE, ""))
            self.metrics.requests.labels(verb, resource, str(code)).inc()
            if verb not in _LONG_RUNNING:
                self.metrics.latency.labels(verb, resource).observe(
                    time.perf_counter() - started
                )
