"""Prefix-cache-aware routing: send a request to the replica that holds the longest prefix of
its prompt, unless that would pile load on one replica.

The ladder follows the SGLang router's cache-aware policy (its docs: while loads differ by more
than both `balance_abs_threshold` and `balance_rel_threshold`×, least-load wins; else the
longest prefix match wins when it covers `cache_threshold` of the prompt; else the replica with
the most room), with one change: a match counts only beyond what *every* candidate holds. A
system prompt shared by all conversations says nothing about where a conversation lives; counted
in full, it either pulls every new conversation onto the first replica that cached it, or (to
avoid that) forces a threshold high enough to drop real matches. Measured against the match,
the threshold barely matters (`bench/router_policies.py` runs 0.1–0.5).
Each replica has two indexes of the prompts it served:

- a *cache mirror*, an LRU as large as the replica's KV cache (`cache_tokens_per_replica`),
  so the router's belief of what is cached forgets what the replica has evicted; it says
  whether a choice is a likely cache hit (`prefix`) and feeds the matched-blocks metric;
- an *affinity* memory, far larger (`max_tree_size` blocks), which keeps a conversation on the
  replica that served it after its KV has been evicted. Moving it would copy its prefix onto
  a second replica and evict someone else's; keeping conversations apart is what lets N small
  caches act like one large one (`bench/router_policies.py` measures the policy with and
  without this memory).

Ties go to the less loaded replica, then to whoever's turn it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from k8s4ai.router import prefix_index, replicas
from k8s4ai.router.policies import base


class PrefixCacheAware:
    def __init__(
        self,
        block_chars: int,
        index_blocks: int,
        cache_threshold: float,
        balance_abs_threshold: int,
        balance_rel_threshold: float,
        cache_blocks: int | None = None,
    ) -> None:
        self.block_chars = block_chars
        self.index_blocks = index_blocks
        self.cache_blocks = min(cache_blocks or index_blocks, index_blocks)
        self.cache_threshold = cache_threshold
        self.balance_abs_threshold = balance_abs_threshold
        self.balance_rel_threshold = balance_rel_threshold
        self._affinity: dict[str, prefix_index.ReplicaIndex] = {}
        self._cached: dict[str, prefix_index.ReplicaIndex] = {}
        self._turn = itertools.count()

    def index(self, replica: replicas.Replica) -> prefix_index.ReplicaIndex:
        """What the router remembers `replica` served (the affinity memory)."""
        found = self._affinity.get(replica.url)
        if found is None:
            found = self._affinity[replica.url] = prefix_index.ReplicaIndex(self.index_blocks)
        return found

    def cached(self, replica: replicas.Replica) -> prefix_index.ReplicaIndex:
        """What the router believes `replica` still holds in its KV cache."""
        found = self._cached.get(replica.url)
        if found is None:
            found = self._cached[replica.url] = prefix_index.ReplicaIndex(self.cache_blocks)
        return found

    def imbalanced(self, candidates: Sequence[replicas.Replica]) -> bool:
        loads = [r.outstanding for r in candidates]
        high, low = max(loads), min(loads)
        return high - low > self.balance_abs_threshold and high > self.balance_rel_threshold * low

    def choose(self, request: base.Routed, candidates: Sequence[replicas.Replica]) -> base.Choice:
        keys = prefix_index.block_keys(request.text, self.block_chars)
        start = next(self._turn)
        n = len(candidates)
        order = [candidates[(start + i) % n] for i in range(n)]
        enough = self.cache_threshold * len(keys)
        if self.imbalanced(candidates):
            pick, reason = base.least_loaded(candidates, start), "balance"
        else:
            remembered = {r.url: self.index(r).matched(keys) for r in order}
            best = max(order, key=lambda r: (remembered[r.url], -r.outstanding))
            shared = min(remembered.values())
            if keys and remembered[best.url] - shared >= max(1.0, enough):
                pick = best
                reason = "prefix" if self.cached(best).matched(keys) > shared else "affinity"
            else:
                pick = min(order, key=lambda r: (len(self.index(r)), r.outstanding))
                reason = "room"
        matched = self.cached(pick).matched(keys)
        self.index(pick).store(keys)
        self.cached(pick).store(keys)
        return base.Choice(pick, matched, len(keys), reason)

    def forget(self, replica: replicas.Replica) -> None:
        for indexes in (self._affinity, self._cached):
            found = indexes.get(replica.url)
            if found is not None:
                found.clear()
