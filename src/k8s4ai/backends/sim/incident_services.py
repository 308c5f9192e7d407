"""An inference service in the remediation simulator: a diurnal load, replicas that its own
autoscaler only ever scales up (scale-down disabled, as LLM endpoints often run to avoid
cold starts), and a latency that grows as replicas fill.

Latency is an M/M/1-like `base / (1 - ρ)` per replica, with the service rate chosen so that
a replica carrying `capacity_rps` sits exactly at the latency target. Load follows a
cosine with its peak at 14:00 and multiplicative noise drawn from the service's own
generator once per tick, so two runs with the same seed see the same load.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from k8s4ai.remediation import state

PEAK_HOUR = 14.0
HEADROOM = 0.8


@dataclass(slots=True)
class ServiceSim:
    ref: state.Ref
    peak_rps: float
    trough_rps: float
    capacity_rps: float
    rng: np.random.Generator
    replicas: int = 2
    min_replicas: int = 2
    max_replicas: int = 16
    gpus_per_replica: int = 1
    base_latency_ms: float = 200.0
    target_ms: float = 1000.0
    retrain_job: str | None = None
    window: float = 3600.0
    load: float = 0.0
    loads: deque[tuple[float, float]] = field(default_factory=deque)
    surplus_gpu_seconds: float = 0.0
    breaches: int = 0
    samples: int = 0

    def offered(self, now: float) -> float:
        hour = (now % 86400.0) / 3600.0
        shape = (1.0 + math.cos(2 * math.pi * (hour - PEAK_HOUR) / 24.0)) / 2.0
        noise = float(self.rng.lognormal(0.0, 0.1))
        return (self.trough_rps + (self.peak_rps - self.trough_rps) * shape) * noise

    def needed(self, load: float) -> int:
        return max(self.min_replicas, math.ceil(load / (self.capacity_rps * HEADROOM)))

    def latency(self) -> float:
        mu = self.capacity_rps / (1.0 - self.base_latency_ms / self.target_ms)
        rho = self.load / (self.replicas * mu)
        return 10 * self.target_ms if rho >= 0.99 else self.base_latency_ms / (1.0 - rho)

    def sample(self, now: float, tick: float) -> None:
        self.load = self.offered(now)
        self.loads.append((now, self.load))
        while self.loads[0][0] <= now - self.window:
            self.loads.popleft()
        if self.load > self.replicas * self.capacity_rps * 0.9:
            self.replicas = min(self.max_replicas, self.needed(self.load))
        need = self.needed(self.load)
        self.surplus_gpu_seconds += max(0, self.replicas - need) * self.gpus_per_replica * tick
        self.samples += 1
        if self.latency() > self.target_ms:
            self.breaches += 1

    def scale(self, replicas: int) -> None:
        self.replicas = max(1, replicas)

    def over_provisioned(self) -> bool:
        return self.replicas > self.needed(self.load)

    def record(self) -> state.Service:
        return state.Service(
            self.ref,
            self.replicas,
            self.min_replicas,
            self.gpus_per_replica,
            max((load for _, load in self.loads), default=self.load),
            self.capacity_rps,
            self.latency(),
            self.target_ms,
            self.retrain_job,
        )
