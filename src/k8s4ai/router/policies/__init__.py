"""Routing policies by name; a new one is a module and one entry here."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from k8s4ai.router import config
from k8s4ai.router.policies import base, hashing, prefix, simple

Factory = Callable[[config.RouterConfig, np.random.Generator], base.Policy]

REGISTRY: dict[str, Factory] = {
    "round-robin": lambda cfg, rng: simple.RoundRobin(),
    "least-load": lambda cfg, rng: simple.LeastLoad(),
    "power-of-two": lambda cfg, rng: simple.PowerOfTwo(rng),
    "random": lambda cfg, rng: simple.Random(rng),
    "consistent-hash": lambda cfg, rng: hashing.ConsistentHash(cfg.block_chars),
    "prefix-cache-aware": lambda cfg, rng: prefix.PrefixCacheAware(
        cfg.block_chars,
        cfg.index_blocks,
        cfg.cache_threshold,
        cfg.balance_abs_threshold,
        cfg.balance_rel_threshold,
        cfg.cache_blocks,
    ),
}


def build(cfg: config.RouterConfig, rng: np.random.Generator) -> base.Policy:
    factory = REGISTRY.get(cfg.policy)
    if factory is None:
        raise ValueError(f"policy: unknown {cfg.policy!r}; one of {', '.join(sorted(REGISTRY))}")
    return factory(cfg, rng)
