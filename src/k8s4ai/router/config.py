"""How one router behaves: its replicas, its policy and the limits that protect them.

Built from a ContentRouter's spec (or the `k8s4ai router` flags), so the process that serves
traffic never reads the store while it routes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from k8s4ai.api import routing


@dataclass(frozen=True, slots=True)
class RouterConfig:
    endpoints: tuple[str, ...]
    policy: str = "prefix-cache-aware"
    block_chars: int = 256
    index_blocks: int = 2**18
    cache_blocks: int | None = None
    """Blocks one replica's KV cache holds, when known: the router's belief of what is cached
    forgets beyond it."""
    cache_threshold: float = 0.3
    balance_abs_threshold: int = 32
    balance_rel_threshold: float = 1.5
    max_body_bytes: int = 8 * 2**20
    connect_timeout: float = 2.0
    first_byte_timeout: float = 60.0
    request_timeout: float = 600.0
    health_interval: float = 5.0
    eject_after: int = 2
    retries: int = 2
    models: tuple[str, ...] = ()
    """Models every replica serves, when known in advance; otherwise each replica's
    `/v1/models` says."""

    def __post_init__(self) -> None:
        for url in self.endpoints:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"endpoints: {url!r} is not an http(s) URL with a host")
        if len(set(self.endpoints)) != len(self.endpoints):
            raise ValueError("endpoints: the same URL is listed twice")


def from_spec(spec: routing.ContentRouterSpec, endpoints: Sequence[str] = ()) -> RouterConfig:
    """A ContentRouter's settings; `endpoints` are the live replicas when the spec names a
    service instead of listing them."""
    urls = tuple(url.rstrip("/") for url in (endpoints or spec.endpoints))
    cache_blocks = None
    if spec.cache_tokens_per_replica is not None:
        cache_blocks = max(1, spec.cache_tokens_per_replica // spec.block_size)
    return RouterConfig(
        endpoints=urls,
        policy=spec.policy,
        block_chars=max(1, round(spec.block_size * spec.chars_per_token)),
        index_blocks=spec.max_tree_size,
        cache_blocks=cache_blocks,
        cache_threshold=spec.cache_threshold,
        balance_abs_threshold=spec.balance_abs_threshold,
        balance_rel_threshold=spec.balance_rel_threshold,
    )
