"""Resident weights: what stays, what is evicted first, and the VRAMPool record."""

from __future__ import annotations

import pytest

from k8s4ai.api import vram
from k8s4ai.scheduler.vram import residency


def copy(model: str, size: int = 10, pinned: bool = False) -> residency.Copy:
    return residency.Copy(model, size, pinned)


def filled(policy: residency.Policy) -> residency.Residency:
    """GPU 0 holds a (idle since 1, served 2 warm starts), b (since 2, 0), c (since 3, 1)."""
    res = residency.Residency(policy)
    for t, (model, uses) in enumerate([("a", 2), ("b", 0), ("c", 1)], start=1):
        for _ in range(uses):
            res.keep(0, copy(model), 0.0)
            res.take(0, model)
        res.keep(0, copy(model), float(t))
    return res


@pytest.mark.parametrize(
    ("policy", "shortfall", "victims"),
    [
        ("LRU", 5, ["a"]),
        ("LRU", 15, ["a", "b"]),
        ("LFU", 5, ["b"]),
        ("LFU", 15, ["b", "c"]),
        ("LFU", 30, ["b", "c", "a"]),
        ("Never", 0, []),
    ],
)
def test_eviction_order(policy: residency.Policy, shortfall: int, victims: list[str]) -> None:
    assert [c.model for c in filled(policy).victims(0, shortfall)] == victims


def test_pinned_copies_are_never_chosen() -> None:
    res = residency.Residency("LRU")
    res.keep(0, copy("pinned", 40, pinned=True), 0.0)
    res.keep(0, copy("old", 10), 1.0)
    res.keep(0, copy("recent", 10), 2.0)
    assert [c.model for c in res.victims(0, 11)] == ["old", "recent"]
    assert res.evictable(0) == 20
    with pytest.raises(ValueError, match="cannot free 25 B"):
        res.victims(0, 25)
    with pytest.raises(ValueError, match="never evicted"):
        res.evict(0, copy("pinned", 40, pinned=True))


def test_never_keeps_only_what_the_pool_lists() -> None:
    res = residency.Residency("Never")
    assert not res.keep(0, copy("left-behind"), 0.0)
    assert res.keep(0, residency.Copy("listed", 10, listed=True), 0.0)
    assert res.evictable(0) == 0
    with pytest.raises(ValueError, match="cannot free"):
        res.victims(0, 1)


def test_a_gpu_keeps_one_idle_copy_per_model_and_a_start_takes_it() -> None:
    res = residency.Residency()
    assert res.keep(3, copy("m"), 0.0)
    assert not res.keep(3, copy("m"), 1.0)
    assert res.holders("m") == (3,)
    assert res.take(3, "m") == copy("m")
    assert res.take(3, "m") is None and res.holders("m") == ()
    with pytest.raises(ValueError, match="unknown"):
        residency.Residency("MRU")  # type: ignore[arg-type]


def test_the_vram_pool_record_round_trips() -> None:
    pool = vram.VRAMPool.model_validate(
        {
            "metadata": {"name": "serving"},
            "spec": {
                "acceleratorClass": "h100",
                "residentModels": [
                    {"model": "llama-8b", "size": "16Gi", "nodes": ["n1", "n2"], "pinned": True},
                    {"model": "qwen-7b", "size": "15Gi", "nodes": ["n2"]},
                ],
            },
        }
    )
    pairs = residency.pool_copies(pool)
    assert pairs[0] == ("n1", residency.Copy("llama-8b", 16 * 2**30, True, listed=True))
    assert residency.resident_models(pairs) == pool.spec.resident_models
