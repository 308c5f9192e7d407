"""The gang placer's what-ifs undo exactly, and its refusals say whether waiting can help."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import gang, reasons, workload
from tests.scheduler.admission import builders as b


def placer(*nodes: snapshot.NodeSpec) -> gang.Placer:
    return gang.Placer(snapshot.ClusterSnapshot(nodes), np.random.default_rng(0))


def state(p: gang.Placer) -> tuple[list[int], list[int], list[list[int]], list[list[int]]]:
    snap = p.snap
    return (
        snap.cpu_free.tolist(),
        snap.memory_free.tolist(),
        snap.gpu_free.tolist(),
        snap.shape_counts.tolist(),
    )


def test_without_and_hold_are_undone_exactly() -> None:
    p = placer(*b.nodes(3))
    placed = p.place(b.job("running", gpus=12, per_pod=4))
    assert isinstance(placed, list)
    before = state(p)

    undo_hold = p.hold(b.job("head", gpus=16))
    assert p.free_gpus() < 12, "the head holds whole free GPUs"
    undo_without = p.without(placed)
    undo_without()
    undo_hold()

    assert state(p) == before


def refusal(p: gang.Placer, wl: workload.Workload) -> reasons.Reason:
    result = p.place(wl)
    assert isinstance(result, gang.Refused), result
    return result.reason


def big_pod(cpu: int = 1000, memory: int = 1024, gpus: int = 8) -> workload.Workload:
    pod = pods.PodRequest("big-0", cpu, memory, gpus, pods.MILLI)
    return workload.Workload("big", "a", (pod,))


@pytest.mark.parametrize(
    "wl",
    [big_pod(gpus=16), big_pod(cpu=b.NODE_CPU + 1), big_pod(memory=b.NODE_MEMORY + 1)],
    ids=["more-gpus-than-a-node", "more-cpu-than-a-node", "more-memory-than-a-node"],
)
def test_a_pod_no_node_can_ever_hold_is_unschedulable(wl: workload.Workload) -> None:
    reason = refusal(placer(*b.nodes(2)), wl)
    assert reason.kind is reasons.Kind.UNSCHEDULABLE, reason


def test_a_model_no_node_has_is_unschedulable() -> None:
    reason = refusal(placer(*b.nodes(2)), b.job("b200", models="b200"))
    assert (reason.kind, reason.plugin) == (reasons.Kind.UNSCHEDULABLE, "GpuModel")


def test_busy_cpu_is_a_wait_not_unschedulable() -> None:
    p = placer(*b.nodes(1))
    hog = pods.PodRequest("hog", b.NODE_CPU, 0)
    p.snap.assign(0, hog, ())
    reason = refusal(p, b.job("gpu-job"))
    assert reason.kind is reasons.Kind.FRAGMENTATION, "8 GPUs are free, the CPU beside them is not"


# -- counting room before a what-if ----------------------------------------------------------


def busy(p: gang.Placer, node: int, gpus: int) -> workload.Placed:
    """A pod of `gpus` whole GPUs on the node's first free ones."""
    taken = tuple(np.flatnonzero(p.snap.gpu_free[node] == pods.MILLI)[:gpus].tolist())
    pod = pods.PodRequest(f"busy-{node}-{taken[0]}", 1000, 1024, gpus, pods.MILLI)
    p.snap.assign(node, pod, taken)
    return workload.Placed(pod, node, taken)


@pytest.mark.parametrize(
    ("used", "wl", "fits"),
    [
        ([4, 4], b.job("whole-node"), False),
        ([4, 0], b.job("whole-node"), True),
        ([4, 4], b.job("two-halves", gpus=8, per_pod=4), True),
        ([5, 5], b.job("two-halves", gpus=8, per_pod=4), False),
        ([5, 5], b.job("six-in-threes", gpus=6, per_pod=3), True),
        ([0, 0], b.job("three-nodes", gpus=24), False),
        ([8, 8], b.job("fractional", gpus=1, per_pod=1), False),
        ([4, 0], b.job("one-of-three", gpus=24, min_member=1), True),
        ([4, 0], b.job("two-of-three", gpus=24, min_member=2), False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_room_counts_nodes_with_enough_whole_gpus(
    used: list[int], wl: workload.Workload, fits: bool
) -> None:
    p = placer(*b.nodes(2))
    for node, gpus in enumerate(used):
        if gpus:
            busy(p, node, gpus)
    assert gang.Room(p.snap, wl).fits() is fits
    assert isinstance(p.place(wl), list) is fits, "on these nodes counting is exact"


def test_room_follows_victims_as_they_leave() -> None:
    p = placer(*b.nodes(2))
    victims = [busy(p, 0, 4), busy(p, 1, 8)]
    room = gang.Room(p.snap, b.job("whole-node"))
    assert not room.fits()
    assert room.fits_without(victims[:1]) and room.fits_without(victims[1:])

    p.release(victims[:1])
    room.release(victims[:1])
    assert room.fits()


def test_room_never_refuses_what_the_placer_would_place() -> None:
    """Counting is a necessary condition: on random busy clusters, every gang the placer
    places was counted as fitting, before and after random victims leave."""
    rng = np.random.default_rng(3)
    for trial in range(200):
        p = placer(*b.nodes(4))
        running: list[workload.Placed] = []
        for node in range(4):
            left = 8
            while left and rng.random() < 0.7:
                size = int(rng.integers(1, left + 1))
                running.append(busy(p, node, size))
                left -= size
        per_pod = int(rng.choice([1, 2, 4, 8]))
        wl = b.job(f"j{trial}", gpus=per_pod * int(rng.integers(1, 5)), per_pod=per_pod)
        leaving = [r for r in running if rng.random() < 0.5]
        room = gang.Room(p.snap, wl)
        if isinstance(p.place(wl), list):
            assert room.fits(), (trial, wl)
            continue
        could = room.fits_without(leaving)
        p.release(leaving)
        room.release(leaving)
        if isinstance(p.place(wl), list):
            assert could and room.fits(), (trial, wl)
