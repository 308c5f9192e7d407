"""The replica's prefix cache: a block is a hit only with its whole prefix, capacity is in
blocks, and eviction takes prompts' tails before the prefixes they share."""

from __future__ import annotations

import pytest

from k8s4ai.testing.replica import prefix_cache, tokens

BLOCK = tokens.BLOCK_TOKENS


def words(*blocks: str, tail: int = 0) -> list[bytes]:
    """Whole blocks of words named after each block, plus `tail` words of a partial one."""
    found = [f"{name}{i}".encode() for name in blocks for i in range(BLOCK)]
    return found + [f"tail{i}".encode() for i in range(tail)]


def test_block_hashes_cover_full_blocks_only() -> None:
    assert len(tokens.block_hashes(words("a", "b", tail=BLOCK - 1))) == 2
    assert tokens.block_hashes(words(tail=BLOCK - 1)) == []


def test_a_block_hash_depends_on_its_whole_prefix() -> None:
    abc = tokens.block_hashes(words("a", "b", "c"))
    xbc = tokens.block_hashes(words("x", "b", "c"))
    abd = tokens.block_hashes(words("a", "b", "d"))
    assert abc[:2] == abd[:2] and abc[2] != abd[2]
    assert not set(abc) & set(xbc)


def test_a_hit_needs_the_whole_prefix_cached() -> None:
    cache = prefix_cache.PrefixCache(10)
    first, second, third = tokens.block_hashes(words("a", "b", "c"))
    cache.store([first, third])
    assert cache.match([first, second, third]) == 1
    assert cache.match([second, third]) == 0
    cache.store([first, second, third])
    assert cache.match([first, second, third]) == 3


@pytest.mark.parametrize(
    ("capacity", "left"),
    [
        pytest.param(4, {"a1", "a2", "b2", "c1"}, id="evicts-the-deepest-block-first"),
        pytest.param(3, {"a1", "b2", "c1"}, id="then-its-parent"),
        pytest.param(1, {"c1"}, id="finally-the-shared-prefix"),
    ],
)
def test_eviction_takes_tails_before_shared_prefixes(capacity: int, left: set[str]) -> None:
    cache = prefix_cache.PrefixCache(5)
    names = {name: name.encode() for name in ("a1", "a2", "a3", "b2", "c1")}
    cache.store([names["a1"], names["a2"], names["a3"]])
    cache.store([names["a1"], names["b2"]])
    cache.store([names["c1"]])
    cache.capacity = capacity
    evicted = cache.store([names["c1"]])
    assert {name for name, block in names.items() if block in cache} == left
    assert evicted == 5 - capacity == cache.evicted
    assert len(cache) == capacity


def test_a_prompt_longer_than_the_cache_keeps_its_first_blocks() -> None:
    cache = prefix_cache.PrefixCache(2)
    hashes = tokens.block_hashes(words("a", "b", "c", "d"))
    assert cache.store(hashes) == 2
    assert cache.match(hashes) == 2


def test_clear_empties_the_cache_but_keeps_the_eviction_count() -> None:
    cache = prefix_cache.PrefixCache(1)
    cache.store([b"x", b"y"])
    cache.clear()
    assert len(cache) == 0 and cache.evicted == 1
    assert cache.match([b"x"]) == 0


def test_token_ids_are_the_same_in_every_process() -> None:
    assert tokens.ids(tokens.split("hello world")) == [907060870, 980881731]  # CRC-32
    assert tokens.from_ids([7, 42]) == [b"7", b"42"]
    with pytest.raises(ValueError, match="at least one token"):
        tokens.block_hashes([b"a"], 0)
