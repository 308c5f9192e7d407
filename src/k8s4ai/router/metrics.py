"""The router's Prometheus metrics, one registry per router so several in one process (tests,
`k8s4ai up`) never collide."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import prometheus_client as prom

from k8s4ai.router import window

OVERHEAD_BUCKETS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class RouterMetrics:
    registry: prom.CollectorRegistry
    requests: prom.Counter
    retries: prom.Counter
    overhead: prom.Histogram
    prompt_blocks: prom.Counter
    matched_blocks: prom.Counter
    healthy: prom.Gauge
    outstanding: prom.Gauge
    ejections: prom.Counter
    ttft: prom.Histogram
    tokens: prom.Counter
    recent: window.Window
    """The same answers as the counters, over the last minute, for the router's status."""

    @classmethod
    def create(
        cls,
        clock: Callable[[], float] = time.monotonic,
        window_seconds: float = window.DEFAULT_SECONDS,
    ) -> RouterMetrics:
        reg = prom.CollectorRegistry()
        return cls(
            recent=window.Window(clock, window_seconds),
            ttft=prom.Histogram(
                "k8s4ai_router_ttft_seconds",
                "Time from sending a streamed request to its first byte back, replica included",
                buckets=TTFT_BUCKETS,
                registry=reg,
            ),
            tokens=prom.Counter(
                "k8s4ai_router_tokens",
                "Prompt plus completion tokens, as the replicas' usage reported them",
                registry=reg,
            ),
            registry=reg,
            requests=prom.Counter(
                "k8s4ai_router_requests",
                "Requests answered, by replica and HTTP status",
                ["replica", "code"],
                registry=reg,
            ),
            retries=prom.Counter(
                "k8s4ai_router_retries", "Requests sent again to another replica", registry=reg
            ),
            overhead=prom.Histogram(
                "k8s4ai_router_overhead_seconds",
                "Time the router itself spends on a request, outside the replica",
                buckets=OVERHEAD_BUCKETS,
                registry=reg,
            ),
            prompt_blocks=prom.Counter(
                "k8s4ai_router_prompt_blocks",
                "Prompt blocks routed, by policy reason",
                ["reason"],
                registry=reg,
            ),
            matched_blocks=prom.Counter(
                "k8s4ai_router_matched_blocks",
                "Prompt blocks the router believed cached on the chosen replica",
                registry=reg,
            ),
            healthy=prom.Gauge(
                "k8s4ai_router_replica_healthy",
                "1 while a replica takes traffic",
                ["replica"],
                registry=reg,
            ),
            outstanding=prom.Gauge(
                "k8s4ai_router_replica_outstanding", "Requests in flight", ["replica"], registry=reg
            ),
            ejections=prom.Counter(
                "k8s4ai_router_ejections", "Replicas taken out of rotation", registry=reg
            ),
        )

    def answered(
        self,
        replica: str,
        code: int,
        ttft: float | None,
        tokens: int | None,
        prompt_blocks: int,
        matched_blocks: int,
    ) -> None:
        """One answered request, counted once for /metrics and once for the window."""
        self.requests.labels(replica, str(code)).inc()
        if ttft is not None:
            self.ttft.observe(ttft)
        if tokens is not None:
            self.tokens.inc(tokens)
        self.recent.record(ttft, tokens, prompt_blocks, matched_blocks)

    def render(self) -> bytes:
        return prom.generate_latest(self.registry)
