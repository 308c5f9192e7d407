"""Prefix-cache-aware routing: send a request to the replica that already holds the longest
prefix of its prompt, unless that would pile load on one replica.

The shape follows the SGLang router's cache-aware policy (its docs: route by longest prefix
match when the match rate passes `cache_threshold`, else to the replica with the most cache
room; switch to least-load while loads differ by more than both `balance_abs_threshold` and
`balance_rel_threshold`×). What differs: the per-replica index forgets blocks in LRU order at
the replica's own cache size rather than on a timer, so the router stops following a prefix
the replica has already evicted; and ties go to the less loaded replica.
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
    ) -> None:
        self.block_chars = block_chars
        self.index_blocks = index_blocks
        self.cache_threshold = cache_threshold
        self.balance_abs_threshold = balance_abs_threshold
        self.balance_rel_threshold = balance_rel_threshold
        self._indexes: dict[str, prefix_index.ReplicaIndex] = {}
        self._turn = itertools.count()

    def index(self, replica: replicas.Replica) -> prefix_index.ReplicaIndex:
        found = self._indexes.get(replica.url)
        if found is None:
            found = self._indexes[replica.url] = prefix_index.ReplicaIndex(self.index_blocks)
        return found

    def imbalanced(self, candidates: Sequence[replicas.Replica]) -> bool:
        loads = [r.outstanding for r in candidates]
        high, low = max(loads), min(loads)
        return high - low > self.balance_abs_threshold and high > self.balance_rel_threshold * low

    def choose(self, request: base.Routed, candidates: Sequence[replicas.Replica]) -> base.Choice:
        keys = prefix_index.block_keys(request.text, self.block_chars)
        start = next(self._turn)
        if self.imbalanced(candidates):
            pick = base.least_loaded(candidates, start)
            matched, reason = self.index(pick).matched(keys), "balance"
        else:
            n = len(candidates)
            order = [candidates[(start + i) % n] for i in range(n)]
            matches = {r.url: self.index(r).matched(keys) for r in order}
            best = max(order, key=lambda r: (matches[r.url], -r.outstanding))
            matched = matches[best.url]
            if keys and matched / len(keys) >= self.cache_threshold:
                pick, reason = best, "prefix"
            else:
                pick = min(order, key=lambda r: (len(self.index(r)), r.outstanding))
                matched, reason = matches[pick.url], "room"
        self.index(pick).store(keys)
        return base.Choice(pick, matched, len(keys), reason)

    def forget(self, replica: replicas.Replica) -> None:
        index = self._indexes.get(replica.url)
        if index is not None:
            index.clear()
