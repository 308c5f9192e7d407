"""Policies that ignore the prompt: the baselines every router ships."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from k8s4ai.router import replicas
from k8s4ai.router.policies import base


class RoundRobin:
    def __init__(self) -> None:
        self._turn = itertools.count()

    def choose(self, request: base.Routed, candidates: Sequence[replicas.Replica]) -> base.Choice:
        return base.Choice(candidates[next(self._turn) % len(candidates)], reason="turn")

    def forget(self, replica: replicas.Replica) -> None:
        return None


class LeastLoad:
    """Least outstanding requests, as Envoy's LEAST_REQUEST and vllm-router's `least_load`."""

    def __init__(self) -> None:
        self._turn = itertools.count()

    def choose(self, request: base.Routed, candidates: Sequence[replicas.Replica]) -> base.Choice:
        return base.Choice(base.least_loaded(candidates, next(self._turn)), reason="least-load")

    def forget(self, replica: replicas.Replica) -> None:
        return None


class PowerOfTwo:
    """The less loaded of two replicas drawn at random: near least-load with no global scan."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def choose(self, request: base.Routed, candidates: Sequence[replicas.Replica]) -> base.Choice:
        if len(candidates) == 1:
            return base.Choice(candidates[0], reason="only")
        a, b = self._rng.choice(len(candidates), size=2, replace=False)
        first, second = candidates[int(a)], candidates[int(b)]
        pick = first if first.outstanding <= second.outstanding else second
        return base.Choice(pick, reason="power-of-two")

    def forget(self, replica: replicas.Replica) -> None:
        return None


class Random:
    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def choose(self, request: base.Routed, candidates: Sequence[replicas.Replica]) -> base.Choice:
        return base.Choice(candidates[int(self._rng.integers(len(candidates)))], reason="random")

    def forget(self, replica: replicas.Replica) -> None:
        return None
