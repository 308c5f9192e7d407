"""The replica's KV cache as an LRU of prefix blocks, measured in blocks like a GPU's.

Order is kept so that a block is never more recently used than its parent: `store` and
`match` touch a prompt's blocks deepest first, so its first block ends most recent. This is
what vLLM does when it frees a request's blocks in reverse order, and it means eviction
takes the tails of prompts before the prefixes other prompts share.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence


class PrefixCache:
    def __init__(self, capacity_blocks: int) -> None:
        if capacity_blocks < 0:
            raise ValueError(f"capacity_blocks cannot be negative, not {capacity_blocks}")
        self.capacity = capacity_blocks
        self.evicted = 0
        """Blocks evicted since the cache was made (not reset by `clear`)."""
        self._blocks: OrderedDict[bytes, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._blocks)

    def __contains__(self, block: bytes) -> bool:
        return block in self._blocks

    def match(self, hashes: Sequence[bytes]) -> int:
        """How many leading blocks of `hashes` are cached; they become the most recent."""
        hits = 0
        for block in hashes:
            if block not in self._blocks:
                break
            hits += 1
        self._touch(hashes[:hits])
        return hits

    def store(self, hashes: Sequence[bytes]) -> int:
        """Cache a prompt's blocks (already cached ones are touched); returns how many
        blocks were evicted to make room."""
        self._touch(hashes)
        evicted = 0
        while len(self._blocks) > self.capacity:
            self._blocks.popitem(last=False)
            evicted += 1
        self.evicted += evicted
        return evicted

    def clear(self) -> None:
        self._blocks.clear()

    def _touch(self, hashes: Sequence[bytes]) -> None:
        blocks = self._blocks
        for block in reversed(hashes):
            blocks[block] = None
            blocks.move_to_end(block)
