"""The router's Prometheus metrics, one registry per router so several in one process (tests,
`k8s4ai up`) never collide."""

from __future__ import annotations

from dataclasses import dataclass

import prometheus_client as prom

OVERHEAD_BUCKETS = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1)


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

    @classmethod
    def create(cls) -> RouterMetrics:
        reg = prom.CollectorRegistry()
        return cls(
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

    def render(self) -> bytes:
        return prom.generate_latest(self.registry)
