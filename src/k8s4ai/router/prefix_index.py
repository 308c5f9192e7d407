"""What the router believes each replica holds in its KV cache, as chained hashes of
fixed-size text blocks.

The router never sees tokens (it would need each model's tokenizer, and peers that fetch one
from a hub fail offline), so a block is a run of `block_chars` characters; a block's key hashes
it together with the key of the block before it, so two prompts share a key only where they
share the whole prefix up to it, as a replica's prefix cache does. Each replica's index is an
LRU bounded by the blocks that replica can cache, so the router forgets what the replica has
evicted, at about the same time it does. It is a belief, not a fact: a replica that publishes
its cache events can be followed exactly with `store`/`evict`.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence

BlockKey = bytes


def block_keys(text: str, block_chars: int) -> list[BlockKey]:
    """Keys of the whole blocks of `text`; a trailing partial block is never cached."""
    keys: list[BlockKey] = []
    parent = b""
    data = text.encode()
    step = max(1, block_chars)
    for start in range(0, len(data) - step + 1, step):
        parent = hashlib.blake2b(parent + data[start : start + step], digest_size=12).digest()
        keys.append(parent)
    return keys


class ReplicaIndex:
    """One replica's cached blocks, least recently used first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity: {capacity} blocks; a replica caches at least one")
        self.capacity = capacity
        self._blocks: OrderedDict[BlockKey, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._blocks)

    def matched(self, keys: Sequence[BlockKey]) -> int:
        """Leading blocks of `keys` this replica holds: what its prefill would skip."""
        count = 0
        for key in keys:
            if key not in self._blocks:
                break
            count += 1
        return count

    def store(self, keys: Sequence[BlockKey]) -> None:
        """The replica served these blocks: they are now its most recent, the first block most
        of all, so a prefix loses its tail before its head, as an engine's cache does."""
        blocks = self._blocks
        for key in reversed(keys):
            if key in blocks:
                blocks.move_to_end(key)
            else:
                blocks[key] = None
        while len(blocks) > self.capacity:
            blocks.popitem(last=False)

    def evict(self, keys: Iterable[BlockKey]) -> None:
        for key in keys:
            self._blocks.pop(key, None)

    def clear(self) -> None:
        self._blocks.clear()
