"""Live admission keeps MIG layouts valid: a compute share that fits is not enough, the
instance needs a slot of memory slices at an allowed start (`vram.mig`)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from k8s4ai import api, testing
from k8s4ai.controllers import admission, admission_state, admission_topology
from k8s4ai.scheduler.admission import policies, workload
from k8s4ai.scheduler.vram import mig
from k8s4ai.store import sqlite

from .cluster import Clock, Manifest, apply, open_store, queue, settle

PROFILES = [
    {"name": "1g.10gb", "computeSlices": 1, "vram": "10Gi", "maxPerGpu": 7},
    {"name": "3g.40gb", "computeSlices": 3, "vram": "40Gi", "maxPerGpu": 2},
    {"name": "4g.40gb", "computeSlices": 4, "vram": "40Gi", "maxPerGpu": 1},
    {"name": "7g.80gb", "computeSlices": 7, "vram": "80Gi", "maxPerGpu": 1},
]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[sqlite.SqliteStore]:
    with open_store(tmp_path / "k8s4ai.db", clock) as opened:
        yield opened


def cluster(gpus: int) -> list[Manifest]:
    return [
        testing.accelerator_class("h100", mig=PROFILES),
        testing.topology(),
        testing.node("n1", gpus=gpus),
        queue("team-a", 8),
    ]


def mig_gang(name: str, profile: str, count: int = 1) -> Manifest:
    return testing.gang(name).mig(profile).count(count).queue("team-a").build()


def phase(store: sqlite.SqliteStore, name: str) -> tuple[str, str, str]:
    g = store.get("GangSchedulingGroup", name, "default")
    assert isinstance(g, api.GangSchedulingGroup)
    cond = g.status.condition("Admitted")
    assert cond is not None
    return g.status.phase, cond.reason, cond.message


def layouts(store: sqlite.SqliteStore) -> dict[tuple[int, int], mig.Layout]:
    """The MIG instances the controller charges when it rebuilds its state from the store."""
    objs = [o for kind in admission.KINDS for o in store.list(kind.kind_name).items]
    state = admission_state.build(objs, datetime.now(UTC), policies.get("k8s4ai"))
    placer = state.scheduler.placer
    assert isinstance(placer, admission_topology.Placer)
    return dict(placer.record.layouts)


def test_a_1g_does_not_go_beside_two_3g_on_one_h100(
    store: sqlite.SqliteStore, clock: Clock
) -> None:
    apply(store, *cluster(gpus=1), mig_gang("big", "3g.40gb", 2))
    settle(store, clock)
    assert phase(store, "big")[0] == "Admitted"
    assert list(layouts(store).values()) == [
        (mig.Instance("3g.40gb", 0), mig.Instance("3g.40gb", 4))
    ]
    clock.tick(10)
    apply(store, mig_gang("small", "1g.10gb"))
    settle(store, clock)
    state, reason, message = phase(store, "small")
    assert state == "Pending" and reason == "Fragmentation"
    assert "1g.10gb" in message and "node n1" in message and "8 of 8 memory slices" in message


def test_the_1g_takes_another_gpu_when_there_is_one(
    store: sqlite.SqliteStore, clock: Clock
) -> None:
    apply(store, *cluster(gpus=2), mig_gang("big", "3g.40gb", 2))
    settle(store, clock)
    clock.tick(10)
    apply(store, mig_gang("small", "1g.10gb"))
    objs = [o for kind in admission.KINDS for o in store.list(kind.kind_name).items]
    state = admission_state.build(objs, clock.now, policies.get("k8s4ai"))
    result = state.scheduler.cycle(clock.now.timestamp())
    assert [a.job.name for a in result.admitted] == ["default/small"]
    taken = {p.gpus for p in state.scheduler.jobs["default/big"].placed}
    (small,) = state.scheduler.jobs["default/small"].placed
    assert len(taken) == 1 and small.gpus not in taken
    placer = state.scheduler.placer
    assert isinstance(placer, admission_topology.Placer)
    assert [i.profile for i in placer.record.layout((small.node, small.gpus[0]))] == ["1g.10gb"]
    settle(store, clock)
    assert phase(store, "small")[0] == "Admitted"
    found = layouts(store)
    assert sorted([i.profile for i in layout] for layout in found.values()) == [
        ["1g.10gb"],
        ["3g.40gb", "3g.40gb"],
    ]


@pytest.mark.parametrize(
    "gangs",
    [[("a", "4g.40gb", 1), ("b", "3g.40gb", 1)], [("ones", "1g.10gb", 7)]],
    ids=["4g+3g", "7x1g"],
)
def test_a_valid_full_layout_is_admitted(
    store: sqlite.SqliteStore, clock: Clock, gangs: list[tuple[str, str, int]]
) -> None:
    apply(store, *cluster(gpus=1))
    for name, profile, count in gangs:
        apply(store, mig_gang(name, profile, count))
        settle(store, clock)
        clock.tick(10)
    assert all(phase(store, name)[0] == "Admitted" for name, _, _ in gangs)
    (layout,) = layouts(store).values()
    assert sum(count for _, _, count in gangs) == len(layout)
    assert not mig.problems(mig.geometry(_h100()), layout)


def _h100() -> api.AcceleratorClassSpec:
    return api.AcceleratorClass.model_validate(testing.accelerator_class("h100", mig=PROFILES)).spec


def test_a_release_frees_the_instances_and_a_restore_puts_them_back(
    store: sqlite.SqliteStore, clock: Clock
) -> None:
    """What a preemption what-if does to the victims' instances, and undoes."""
    apply(store, *cluster(gpus=1), mig_gang("big", "3g.40gb", 2))
    settle(store, clock)
    objs = [o for kind in admission.KINDS for o in store.list(kind.kind_name).items]
    state = admission_state.build(objs, clock.now, policies.get("k8s4ai"))
    placer = state.scheduler.placer
    assert isinstance(placer, admission_topology.Placer)
    before = dict(placer.record.layouts)
    victim = state.scheduler.jobs["default/big"].placed
    placer.release(victim)
    assert placer.record.layouts == {}
    again = workload.Workload("again", "team-a", state.workloads["default/big"].pods[:1])
    placed = placer.place(again)
    assert isinstance(placed, list)
    assert [i.profile for i in placer.record.layout((0, 0))] == ["3g.40gb"]
    placer.release(placed)
    placer.restore(victim)
    assert placer.record.layouts == before
