"""A mock replica on 127.0.0.1 in a background thread, stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from k8s4ai.testing import replica
from k8s4ai.testing.replica import latency

FAST = latency.LatencyModel(speed=1000.0)
"""Real proportions, a thousand times faster: tests finish in milliseconds."""


@pytest.fixture
def start_replica() -> Iterator[Callable[..., replica.RunningReplica]]:
    started: list[replica.RunningReplica] = []

    def start(**config: Any) -> replica.RunningReplica:
        config.setdefault("model", "mock-8b")
        config.setdefault("latency", FAST)
        running = replica.start(replica.ReplicaConfig(**config))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def mock(start_replica: Callable[..., replica.RunningReplica]) -> replica.RunningReplica:
    return start_replica(cache_blocks=16)
