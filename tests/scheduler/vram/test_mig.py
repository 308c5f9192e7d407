"""MIG layout validity: the placement rule derived from an AcceleratorClass reproduces NVIDIA's
table, and every layout the module builds is one the hardware accepts.

The oracle is NVIDIA's own table, as `nvidia-smi mig -lgipp` prints it (MIG User Guide,
"List GPU Instance Profiles"): allowed starts and sizes in memory slices; instances may not
share a memory slice (NVML: "Creation of new GPU instance will fail if there is overlap with
the already occupied memory slices").
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s4ai.api import accelerator, workload
from k8s4ai.controllers import admission_convert
from k8s4ai.scheduler.vram import mig
from tests.scheduler.vram import builders
from tests.scheduler.vram.builders import layout

H100_LGIPP = {
    "1g.10gb": ((0, 1, 2, 3, 4, 5, 6), 1),
    "1g.10gb+me": ((0, 1, 2, 3, 4, 5, 6), 1),
    "1g.20gb": ((0, 2, 4, 6), 2),
    "2g.20gb": ((0, 2, 4), 2),
    "3g.40gb": ((0, 4), 4),
    "4g.40gb": ((0,), 4),
    "7g.80gb": ((0,), 8),
}
A100_40GB_LGIPP = {
    "1g.5gb": ((0, 1, 2, 3, 4, 5, 6), 1),
    "2g.10gb": ((0, 2, 4), 2),
    "3g.20gb": ((0, 4), 4),
    "4g.20gb": ((0,), 4),
    "7g.40gb": ((0,), 8),
}
H100 = builders.geometry()


def oracle_valid(instances: list[mig.Instance]) -> bool:
    taken: set[int] = set()
    counts: dict[str, int] = {}
    limits = {p["name"]: p["maxPerGpu"] for p in builders.H100}
    for inst in instances:
        starts, size = H100_LGIPP[inst.profile]
        slices = set(range(inst.start, inst.start + size))
        if inst.start not in starts or slices & taken:
            return False
        taken |= slices
        counts[inst.profile] = counts.get(inst.profile, 0) + 1
    return all(n <= limits[p] for p, n in counts.items())


@pytest.mark.parametrize(
    ("profiles", "vram", "table"),
    [(builders.H100, "80Gi", H100_LGIPP), (builders.A100_40GB, "40Gi", A100_40GB_LGIPP)],
    ids=["h100-80gb", "a100-40gb"],
)
def test_derived_starts_match_nvidias_table(profiles, vram, table) -> None:
    geo = builders.geometry(profiles, vram)
    assert {s.name: (s.starts, s.memory) for s in geo.shapes} == table


@pytest.mark.parametrize(
    ("spec", "valid"),
    [
        (("7g.80gb@0",), True),
        (("4g.40gb@0", "3g.40gb@4"), True),
        (("3g.40gb@0", "3g.40gb@4"), True),
        (tuple(f"1g.10gb@{s}" for s in range(7)), True),
        (("2g.20gb@0", "2g.20gb@2", "2g.20gb@4", "1g.10gb@6"), True),
        (("2g.20gb@4", "1g.20gb@6"), True),
        (("1g.10gb@7",), False),
        (("4g.40gb@4",), False),
        (("4g.40gb@0", "4g.40gb@0"), False),
        (("3g.40gb@0", "3g.40gb@4", "1g.10gb@3"), False),
        (("2g.20gb@0", "1g.10gb@1"), False),
        (("1g.10gb+me@0", "1g.10gb+me@1"), False),
        (("5g.50gb@0",), False),
    ],
    ids=lambda v: "+".join(v) if isinstance(v, tuple) else str(v),
)
def test_layout_validity(spec: tuple[str, ...], valid: bool) -> None:
    assert mig.is_valid(H100, layout(*spec)) is valid


def test_problems_say_why() -> None:
    assert mig.problems(H100, layout("4g.40gb@4", "2g.20gb@0", "1g.10gb@1")) == [
        "1g.10gb@1 overlaps 2g.20gb@0",
        "4g.40gb cannot start at slice 4 (allowed: 0)",
    ]
    assert mig.problems(H100, layout("1g.10gb+me@0", "1g.10gb+me@2")) == [
        "at most 1 x 1g.10gb+me fit on one GPU, the layout has 2"
    ]
    assert "it offers: 1g.10gb, 1g.10gb+me" in mig.problems(H100, layout("9g.1gb@0"))[0]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(H100_LGIPP)), st.integers(0, 7)), min_size=1, max_size=8
    )
)
def test_validity_agrees_with_nvidias_table(spec: list[tuple[str, int]]) -> None:
    instances = [mig.Instance(p, s) for p, s in spec]
    assert mig.is_valid(H100, instances) is oracle_valid(instances)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(sorted(H100_LGIPP)), st.integers(0, 7)), max_size=40))
def test_slots_found_keep_every_layout_valid(ops: list[str | int]) -> None:
    """Adding with `find_slot` and removing at random never leaves an invalid layout, and
    `find_slot` only says no when no start in NVIDIA's table is free."""
    current: mig.Layout = ()
    for op in ops:
        if isinstance(op, int):
            if current:
                current = tuple(i for j, i in enumerate(current) if j != op % len(current))
            continue
        start = mig.find_slot(H100, current, op)
        if start is None:
            starts, _ = H100_LGIPP[op]
            assert not any(oracle_valid([*current, mig.Instance(op, s)]) for s in starts)
            continue
        current = mig.canonical((*current, mig.Instance(op, start)))
        assert oracle_valid(list(current))


@pytest.mark.parametrize(
    ("existing", "profile", "start"),
    [
        ((), "1g.10gb", 6),
        ((), "3g.40gb", 4),
        (("3g.40gb@4",), "4g.40gb", 0),
        (("3g.40gb@4",), "2g.20gb", 0),
        (("1g.10gb@6",), "1g.10gb", 4),
        (("4g.40gb@0", "3g.40gb@4"), "1g.10gb", None),
        (("1g.10gb+me@6",), "1g.10gb+me", None),
    ],
)
def test_find_slot_keeps_room_for_large_instances(existing, profile, start) -> None:
    assert mig.find_slot(H100, layout(*existing), profile) == start


def test_arrange_places_a_nodes_profile_list_or_says_it_cannot() -> None:
    assert mig.arrange(H100, ["3g.40gb", "4g.40gb"]) == layout("4g.40gb@0", "3g.40gb@4")
    assert mig.arrange(H100, ["1g.10gb"] * 7) is not None
    # 7 compute slices, but 9 memory slices: a compute-only check would accept it.
    assert mig.arrange(H100, ["3g.40gb", "3g.40gb", "1g.10gb"]) is None
    with pytest.raises(mig.UnknownProfileError):
        mig.arrange(H100, ["5g.50gb"])


@pytest.mark.parametrize(
    ("profiles", "vram"),
    [(builders.H100, "80Gi"), (builders.A100_40GB, "40Gi")],
    ids=["h100-80gb", "a100-40gb"],
)
def test_manifest_check_agrees_with_arrange_on_every_layout(profiles, vram) -> None:
    """The API's count of slices (what `apply` checks on a Node's migLayout) accepts exactly
    the profile lists that `arrange` can place, for every list of up to 8 instances."""
    spec = builders.accel(profiles, vram).spec
    geo = mig.geometry(spec)
    names = [s.name for s in geo.shapes]
    checked = 0
    for k in range(1, accelerator.MIG_MEMORY_SLICES + 1):
        for combo in itertools.combinations_with_replacement(names, k):
            fits = mig.arrange(geo, combo) is not None
            assert (spec.mig_layout_problem(combo) is None) is fits, combo
            checked += fits
    assert checked >= 30


def test_repartition_moves_the_fewest_instances() -> None:
    before = layout("1g.10gb@0", "1g.10gb@5")
    assert mig.find_slot(H100, before, "3g.40gb") is None
    plan = mig.repartition(H100, before, "3g.40gb")
    assert plan is not None and mig.is_valid(H100, plan.layout)
    assert len(plan.moved) == 1 and plan.placed.profile == "3g.40gb"
    assert sorted(i.profile for i in plan.layout) == ["1g.10gb", "1g.10gb", "3g.40gb"]
    ((old, new),) = plan.moved
    assert old in before and new in plan.layout and old not in plan.layout


def test_repartition_without_moves_and_when_impossible() -> None:
    plan = mig.repartition(H100, layout("3g.40gb@4"), "1g.10gb")
    assert plan is not None and plan.moved == () and plan.placed.profile == "1g.10gb"
    assert plan.layout == mig.canonical((*layout("3g.40gb@4"), plan.placed))
    assert mig.repartition(H100, layout("4g.40gb@0", "3g.40gb@4"), "1g.10gb") is None


def test_smallest_fitting_profile() -> None:
    gib = builders.GIB
    assert mig.smallest_fitting(H100, 10 * gib).name == "1g.10gb"  # type: ignore[union-attr]
    assert mig.smallest_fitting(H100, 15 * gib).name == "1g.20gb"  # type: ignore[union-attr]
    assert mig.smallest_fitting(H100, 21 * gib).name == "3g.40gb"  # type: ignore[union-attr]
    assert mig.smallest_fitting(H100, 10 * gib, media=True).name == "1g.10gb"  # type: ignore[union-attr]
    assert mig.smallest_fitting(H100, 81 * gib) is None


def test_seven_small_slices_fill_one_gpu_in_admission_units() -> None:
    classes = {"gpu": builders.accel(builders.H100)}
    shares = {
        p["name"]: admission_convert.gpu_share(
            workload.PodResources(gpus=1, mig_profile=p["name"], accelerator_class="gpu"), classes
        )[1]
        for p in builders.H100
    }
    assert 7 * shares["1g.10gb"] <= 1000 < 8 * shares["1g.10gb"]
    assert shares["4g.40gb"] + shares["3g.40gb"] <= 1000 < 2 * shares["4g.40gb"]
    assert shares["7g.80gb"] == 1000
