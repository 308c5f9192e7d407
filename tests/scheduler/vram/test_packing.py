"""VRAM is never over-committed: the ledger refuses what does not fit, and no sequence of
placements, departures, warm starts and evictions puts more on a GPU than it offers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s4ai.scheduler.vram import packing, placers, residency, vram_placer
from tests.scheduler.vram.builders import GIB, replica


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 50)), max_size=60), st.integers(0, 60))
def test_sorted_index_matches_a_scan(updates: list[tuple[int, int]], query: int) -> None:
    keys = [25] * 10
    index = packing.SortedIndex(keys)
    for item, key in updates:
        index.set(item, key)
        keys[item] = key
    expected = sorted((k, i) for i, k in enumerate(keys) if k >= query)
    assert list(index.at_least(query)) == [i for _, i in expected]


def test_the_ledger_refuses_what_does_not_fit() -> None:
    ledger = packing.Ledger([10, 10])
    ledger.charge(0, "a", 6)
    ledger.hold(0, 3, soft=True)
    with pytest.raises(packing.OverCommitError, match=r"GPU 0: b .* does not fit in 1 B free"):
        ledger.charge(0, "b", 2)
    with pytest.raises(packing.OverCommitError):
        ledger.hold(0, 2, soft=False)
    with pytest.raises(ValueError, match="already placed"):
        ledger.charge(1, "a", 1)
    assert (ledger.free(0), ledger.available(0)) == (1, 4)
    assert ledger.discharge("a") == (0, 6)
    assert ledger.free(0) == 7


def test_best_fit_takes_the_tightest_gpu() -> None:
    ledger = packing.Ledger([10, 10, 10])
    ledger.charge(0, "a", 4)
    ledger.charge(1, "b", 7)
    ledger.hold(2, 8, soft=True)
    assert ledger.best_fit(3) == 1
    assert ledger.best_fit(4) == 0
    assert ledger.best_fit(7) is None
    assert ledger.best_fit(7, evicting=True) == 2


Op = tuple[str, int, int, int]
OPS = st.lists(
    st.tuples(
        st.sampled_from(["place", "place", "place", "leave"]),
        st.integers(1, 78),  # GiB per GPU
        st.integers(0, 5),  # model
        st.sampled_from([1, 1, 1, 2]),  # GPUs
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(OPS, st.booleans(), st.sampled_from(residency.POLICIES), st.booleans())
def test_vram_is_never_over_committed(
    ops: list[Op], warm_aware: bool, policy: residency.Policy, pin: bool
) -> None:
    placer = vram_placer.VramPlacer(2, 4, 80 * GIB, 2 * GIB, warm_aware=warm_aware, policy=policy)
    usable = 78 * GIB
    if pin:
        placer.seed(0, residency.Copy("m0", 30 * GIB, pinned=True, listed=True), 0.0)
        placer.seed(5, residency.Copy("m1", 20 * GIB, listed=True), 0.0)
    running: dict[str, tuple[tuple[int, ...], int]] = {}
    for t, (op, gib, model, gpus) in enumerate(ops):
        if op == "leave":
            if running:
                name = sorted(running)[gib % len(running)]
                placer.remove(name, float(t))
                del running[name]
            continue
        r = replica(f"r{t}", gib, f"m{model}", weights_gib=gib / 2, gpus=gpus)
        before = {g: set(placer.residency.idle(g)) for g in range(8)}
        result = placer.place(r, float(t))
        if isinstance(result, placers.Placed):
            running[r.name] = (result.gpus, r.vram)
            assert len(result.gpus) == gpus and len({g // 4 for g in result.gpus}) == 1
            resident = {(c.model, c.size) for c in before[result.gpus[0]]}
            assert result.warm == (gpus == 1 and (r.model, r.weights) in resident)
        elif gpus == 1:
            for g in range(8):
                taken = sum(v for gs, v in running.values() if g in gs and len(gs) == 1)
                whole = any(g in gs for gs, _ in running.values() if len(gs) > 1)
                kept = sum(
                    c.size for c in placer.residency.idle(g) if not placer.residency.is_evictable(c)
                )
                assert whole or usable - taken - kept < r.vram, f"GPU {g} could take {r.name}"
        for g in range(8):
            tenants = sum(usable if len(gs) > 1 else v for gs, v in running.values() if g in gs)
            idle = sum(c.size for c in placer.residency.idle(g))
            assert tenants + idle <= usable
            assert (placer.ledger.allocated[g], placer.ledger.held[g]) == (tenants, idle)
        assert placer.gpus_in_use == len({g for gs, _ in running.values() for g in gs})
