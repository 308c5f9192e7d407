from __future__ import annotations

import pytest

from k8s4ai.router import prefix_index


def test_keys_are_equal_exactly_where_prefixes_are() -> None:
    a = prefix_index.block_keys("abcdefgh" + "XXXX", 4)
    b = prefix_index.block_keys("abcdefgh" + "YYYY", 4)
    c = prefix_index.block_keys("zbcdefgh" + "XXXX", 4)
    assert a[:2] == b[:2] and a[2] != b[2]
    assert not set(a) & set(c), "a block's key depends on everything before it"


def test_a_trailing_partial_block_is_not_a_block() -> None:
    assert len(prefix_index.block_keys("abcdefg", 4)) == 1
    assert prefix_index.block_keys("abc", 4) == []


def test_matched_counts_leading_blocks_only() -> None:
    index = prefix_index.ReplicaIndex(10)
    keys = prefix_index.block_keys("aaaabbbbccccdddd", 4)
    index.store(keys[:2])
    assert index.matched(keys) == 2
    index.evict([keys[0]])
    assert index.matched(keys) == 0


def test_full_index_forgets_the_tail_of_the_oldest_prompt_first() -> None:
    index = prefix_index.ReplicaIndex(4)
    old = prefix_index.block_keys("aaaabbbbcccc", 4)
    new = prefix_index.block_keys("xxxxyyyy", 4)
    index.store(old)
    index.store(new)
    assert len(index) == 4
    assert index.matched(old) == 2, "the old prompt keeps its head, loses its tail"
    assert index.matched(new) == 2


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        prefix_index.ReplicaIndex(0)
