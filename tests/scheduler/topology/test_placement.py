"""The smallest domain that fits a gang, tie-broken by what it leaves; required refuses
naming its level, preferred goes one level up at a time."""

from __future__ import annotations

import pytest

from k8s4ai.scheduler.topology import placement

from .fabric import fabric, free


def level_of(found: placement.Placement | placement.Refusal) -> str:
    assert isinstance(found, placement.Placement), found
    return fabric(2, 2, 2).levels[found.level].name


@pytest.mark.parametrize(
    ("pods", "level"),
    [
        pytest.param([1], "nvlink", id="one-gpu"),
        pytest.param([4, 4], "nvlink", id="two-pods-one-node"),
        pytest.param([8, 8], "rack", id="two-nodes"),
        pytest.param([8, 8, 8], "block", id="three-nodes"),
        pytest.param([8] * 5, "cluster", id="five-nodes"),
    ],
)
def test_an_empty_cluster_puts_a_gang_in_its_smallest_feasible_domain(
    pods: list[int], level: str
) -> None:
    t = fabric(2, 2, 2)
    found = placement.place(t, t.leaf_size, pods)
    assert level_of(found) == level
    assert placement.smallest_feasible(t, pods) == t.level(level)


def test_the_tightest_domain_wins_then_the_busiest_parent() -> None:
    t = fabric(2, 2, 2)
    # node 1 has 3 free, node 4 has 6 free: a 3-GPU pod takes node 1's last GPUs.
    state = free(t, n1=5, n4=2)
    found = placement.place(t, state, [3])
    assert isinstance(found, placement.Placement) and found.nodes == (1,)
    # An 8-GPU pod: every empty node leaves 0 free; rack b0-r0 (node 1 busy) is the busiest.
    found = placement.place(t, state, [8])
    assert isinstance(found, placement.Placement) and found.nodes == (0,)


def test_a_gang_goes_to_the_rack_with_least_room_that_holds_it() -> None:
    t = fabric(2, 2, 2)
    # racks: b0-r0 empty (16), b0-r1 half used (8 + 0), b1-r0 8 + 4 free.
    state = free(t, n3=8, n4=4)
    found = placement.place(t, state, [4, 8])
    assert isinstance(found, placement.Placement)
    assert sorted(found.nodes) == [4, 5] and level_of(found) == "rack"


def test_pods_spread_over_as_few_children_as_possible() -> None:
    t = fabric(1, 3, 2)
    # racks free: 16, 8, 16 (node 2 busy): four 8-GPU pods need the two whole racks.
    state = free(t, n2=8)
    found = placement.place(t, state, [8, 8, 8, 8])
    assert isinstance(found, placement.Placement)
    assert sorted(found.nodes) == [0, 1, 4, 5]


def test_pods_keep_the_order_they_were_given() -> None:
    t = fabric(1, 1, 2)
    state = free(t, n0=4)
    found = placement.place(t, state, [4, 8])
    assert isinstance(found, placement.Placement) and found.nodes == (0, 1)


def test_preferred_and_required_agree_while_their_level_has_room() -> None:
    t = fabric(2, 2, 2)
    state = free(t, n0=8)
    for required in (True, False):
        found = placement.place(t, state, [8, 8], placement.Constraint("rack", required))
        assert isinstance(found, placement.Placement) and not found.degraded
        assert sorted(found.nodes) == [2, 3]


def test_preferred_goes_up_a_level_where_required_refuses() -> None:
    """No rack has two free nodes, a block has: required waits, preferred spans racks."""
    t = fabric(2, 2, 2)
    state = free(t, n0=8, n3=8, n4=8, n7=8)
    required = placement.place(t, state, [8, 8], placement.Constraint("rack", required=True))
    assert isinstance(required, placement.Refusal)
    assert required.why is placement.Why.NO_ROOM and required.level == "rack"
    assert required.message == (
        "needs 16 GPUs in one rack; 32 are free, at most 8 in one rack "
        "(b0-r0 8, b0-r1 8, b1-r0 8, b1-r1 8)"
    )
    preferred = placement.place(t, state, [8, 8], placement.Constraint("rack"))
    assert isinstance(preferred, placement.Placement) and preferred.degraded
    assert level_of(preferred) == "block" and sorted(preferred.nodes) == [1, 2]


def test_preferred_reaches_the_whole_cluster_one_level_at_a_time() -> None:
    t = fabric(2, 2, 2)
    state = free(t, n0=8, n2=8, n5=8, n7=8)
    found = placement.place(t, state, [8, 8, 8], placement.Constraint("rack"))
    assert isinstance(found, placement.Placement) and found.degraded
    assert level_of(found) == "cluster"


def test_required_refuses_a_gang_larger_than_any_domain_of_its_level() -> None:
    t = fabric(2, 2, 2)
    found = placement.place(t, t.leaf_size, [8, 8, 8], placement.Constraint("rack", True))
    assert isinstance(found, placement.Refusal) and found.why is placement.Why.TOO_LARGE
    assert found.message == "needs 24 GPUs in one rack; the largest rack has 16 GPUs it may use"


def test_required_counts_only_the_gpus_the_gang_may_use() -> None:
    t = fabric(1, 2, 2)
    usable = t.leaf_size.copy()
    usable[1] = 0
    found = placement.place(t, usable, [8, 8], placement.Constraint("rack", True), usable)
    assert isinstance(found, placement.Placement) and sorted(found.nodes) == [2, 3]
    found = placement.place(t, usable, [8] * 4, placement.Constraint("block", True), usable)
    assert isinstance(found, placement.Refusal)
    assert found.message.endswith("the largest block has 24 GPUs it may use")


def test_an_unknown_level_is_refused_when_required_and_ignored_when_preferred() -> None:
    t = fabric(1, 1, 2)
    found = placement.place(t, t.leaf_size, [8], placement.Constraint("row", required=True))
    assert isinstance(found, placement.Refusal) and found.why is placement.Why.UNKNOWN_LEVEL
    assert "no level row (cluster, block, rack, node, nvlink)" in found.message
    assert isinstance(
        placement.place(t, t.leaf_size, [8], placement.Constraint("row")), placement.Placement
    )


def test_nothing_fits_anywhere() -> None:
    t = fabric(1, 1, 2)
    found = placement.place(t, free(t, n0=4, n1=4), [8])
    assert isinstance(found, placement.Refusal) and found.level == "cluster"
    assert (
        found.message
        == "needs 8 GPUs in one cluster; 8 are free, at most 8 in one cluster (cluster 8)"
    )


def test_a_gang_that_fits_one_nvlink_domain_stays_in_it() -> None:
    t = fabric(1, 1, 1, nvlink=4)
    state = t.leaf_size.copy()
    state[0] = 2
    found = placement.place(t, state, [2, 2])
    assert isinstance(found, placement.Placement) and found.leaf == 1
    assert placement.pick_gpus(t, 0, [0, 1, 4, 5, 6, 7], 2, found.leaf) == (4, 5)


@pytest.mark.parametrize(
    ("free_gpus", "count", "leaf", "chosen"),
    [
        pytest.param([0, 1, 2, 3, 4, 5, 6, 7], 4, None, (0, 1, 2, 3), id="first-whole-domain"),
        pytest.param([0, 1, 2, 3, 5, 6], 2, None, (5, 6), id="tightest-domain"),
        pytest.param([0, 1, 2, 5, 6, 7], 4, None, (0, 1, 2, 5), id="spans-when-it-must"),
        pytest.param([0, 4, 5], 1, 0, (0,), id="the-leaf-asked-for"),
    ],
)
def test_gpus_are_picked_inside_one_nvlink_domain_when_they_fit(
    free_gpus: list[int], count: int, leaf: int | None, chosen: tuple[int, ...]
) -> None:
    t = fabric(1, 1, 1, nvlink=4)
    assert placement.pick_gpus(t, 0, free_gpus, count, leaf) == chosen


def test_picking_more_gpus_than_are_free_fails() -> None:
    t = fabric(1, 1, 1)
    with pytest.raises(ValueError, match="2 free GPUs, not 3"):
        placement.pick_gpus(t, 0, [0, 1], 3)


def test_stranded_gpus_are_free_ones_outside_every_domain_that_holds_the_gang() -> None:
    t = fabric(1, 2, 2)
    # rack 0: nodes 0 and 1 with 4 free each; rack 1: both empty. A 16-GPU gang fits rack 1.
    state = free(t, n0=4, n1=4)
    assert placement.stranded(t, state, [8, 8]) == 8
    assert placement.stranded(t, state, [4]) == 0
    assert placement.stranded(t, free(t, n2=1), [8] * 4) == 31
