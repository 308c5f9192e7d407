"""The routing decision as a plugin: given one request and the replicas that may serve it,
pick one. Policies keep their own state (a cursor, a hash ring, a prefix index) and hear
when a request ends, so load-aware ones see requests in flight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from k8s4ai.router import replicas


@dataclass(frozen=True, slots=True)
class Routed:
    """What a policy may look at: never the body's bytes, only what was parsed from it."""

    model: str | None
    text: str
    session: str | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    replica: replicas.Replica
    matched_blocks: int = 0
    prompt_blocks: int = 0
    reason: str = ""


class Policy(Protocol):
    def choose(self, request: Routed, candidates: Sequence[replicas.Replica]) -> Choice:
        """`candidates` is never empty; all are healthy and serve the request's model."""
        ...

    def forget(self, replica: replicas.Replica) -> None:
        """The replica was ejected or restarted: whatever was believed of its cache is gone."""
        ...


def least_loaded(candidates: Sequence[replicas.Replica], start: int = 0) -> replicas.Replica:
    """Fewest requests in flight; ties go to the first after `start`, so equal replicas take
    turns instead of the first one taking every request."""
    n = len(candidates)
    best = candidates[start % n]
    for i in range(1, n):
        replica = candidates[(start + i) % n]
        if replica.outstanding < best.outstanding:
            best = replica
    return best
