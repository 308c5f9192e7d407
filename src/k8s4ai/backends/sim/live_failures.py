"""What goes wrong on the live simulated cluster, and how often.

**Jobs.** Each attempt of a job draws its fate once, from a generator seeded by the cluster's
seed, the job's uid and its restart count, so the fate survives a restarted `k8s4ai up` and
a test can name it. By default 2 % of attempts are OOMKilled (exit 137) early in the run
(within 5 % of the job's run time) with a peak memory within 3 % of the pod's request, 2 %
exit with a permanent error (exit 1) within 30 % of it and 1 % are terminated (exit 143,
SIGTERM: the retryable kind) anywhere in it; the rest succeed (or are cut short first).
Together (5 % of attempts) that is modest next to the failure shares production clusters
report (Jeon et al., "Analysis of Large-Scale Multi-Tenant GPU Clusters for DNN Training
Workloads", USENIX ATC'19, on Philly), many of them user errors a demo need not repeat.

**Nodes.** Each node goes NotReady as a Poisson process with a mean time between failures of
10 cluster days, and is back after an exponential repair time of mean 2 cluster hours (at
least 15 minutes). That is ~26× Meta's Llama 3 rate for a node of 8 GPUs (one interruption
per 50,677 GPU-hours, `k8s4ai.scheduler.checkpointing`): on the 11-node example cluster at
60× a newcomer sees a node fail every ~20 real minutes rather than never.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from k8s4ai.scheduler import checkpointing

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Rates:
    oom: float = 0.02
    error: float = 0.02
    terminated: float = 0.01
    node_mtbf_hours: float = 240.0
    node_repair_hours: float = 2.0
    node_repair_floor_hours: float = 0.25

    def __post_init__(self) -> None:
        shares = (self.oom, self.error, self.terminated)
        if min(shares) < 0 or sum(shares) > 1:
            raise ValueError("job failure shares must be non-negative and add up to at most 1")
        if self.node_mtbf_hours <= 0 or self.node_repair_hours < 0:
            raise ValueError("node MTBF must be positive and repair time non-negative")

    def hardware(self, gpus_per_node: int = 8) -> checkpointing.FailureRate:
        """The nodes' failure rate per GPU-hour, as `interval: auto` would learn it."""
        return checkpointing.FailureRate(1.0, self.node_mtbf_hours * gpus_per_node)


DEFAULT = Rates()


@dataclass(frozen=True, slots=True)
class Fate:
    """How an attempt ends early, with the pod's reason and exit code: once it has run for
    `after` × the job's whole work since it started (restores and checkpoint writes count)."""

    reason: str
    exit_code: int
    after: float
    memory_share: float
    """Peak memory of the attempt's largest pod, as a share of its request."""

    @property
    def retryable(self) -> bool:
        return self.exit_code == 143


def _generator(seed: int, uid: str, attempt: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(uid.encode()), attempt])


def memory_share(seed: int, uid: str, attempt: int) -> float:
    """Peak memory of a healthy attempt as a share of its request."""
    return float(_generator(seed, uid, attempt).uniform(0.45, 0.92))


def fate(seed: int, uid: str, attempt: int, rates: Rates) -> Fate | None:
    """The early end of attempt `attempt` of job `uid`, or None when it runs to completion."""
    rng = _generator(seed, uid, attempt)
    healthy = float(rng.uniform(0.45, 0.92))
    u, where = rng.random(2)
    if u < rates.oom:
        return Fate("OOMKilled", 137, 0.05 * where, float(0.97 + 0.03 * where))
    if u < rates.oom + rates.error:
        return Fate("Error", 1, 0.3 * where, healthy)
    if u < rates.oom + rates.error + rates.terminated:
        return Fate("Error", 143, float(where), healthy)
    return None


class NodeFaults:
    """Which nodes are NotReady and until when (wall seconds). Failures are drawn per step
    from the injected generator, at the cluster rate scaled by `speed`."""

    def __init__(self, rng: np.random.Generator, speed: float, rates: Rates = DEFAULT) -> None:
        self._rng = rng
        self._speed = speed
        self._rates = rates
        self.down: dict[str, float] = {}

    def _repair(self) -> float:
        hours = max(
            self._rates.node_repair_floor_hours,
            float(self._rng.exponential(self._rates.node_repair_hours)),
        )
        return hours * HOUR / self._speed

    def known_down(self, name: str, now: float) -> None:
        """A node found NotReady in the store from an earlier run: it is repaired from now."""
        if name not in self.down:
            self.down[name] = now + self._repair()

    def step(self, names: list[str], now: float, elapsed: float) -> tuple[list[str], list[str]]:
        """(nodes that fail, nodes repaired) over the last `elapsed` wall seconds."""
        repaired = sorted(n for n, until in self.down.items() if until <= now or n not in names)
        for name in repaired:
            del self.down[name]
        if elapsed <= 0:
            return [], repaired
        chance = -math.expm1(-elapsed * self._speed / (self._rates.node_mtbf_hours * HOUR))
        draws = self._rng.random(len(names))
        failed = [n for n, u in zip(names, draws, strict=True) if u < chance and n not in self.down]
        for name in failed:
            self.down[name] = now + self._repair()
        return failed, [n for n in repaired if n in names]
