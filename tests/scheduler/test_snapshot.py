"""ClusterSnapshot bookkeeping: assign and release are inverse, and assign refuses what
does not fit without changing anything."""

from __future__ import annotations

import pytest

from k8s4ai.scheduler import pods, snapshot
from tests.scheduler.builders import cluster, node, pod, state, used


def two_nodes() -> snapshot.ClusterSnapshot:
    snap = cluster(
        node("a", gpus=4, model="T4", cpu=8000, memory=16_000),
        node("b", gpus=2, model="G2", cpu=4000, memory=4000),
        node("c", cpu=2000, memory=2000),
    )
    return used(snap, "a", 600)  # a: free [400, 1000, 1000, 1000]


def test_a_new_snapshot_describes_the_nodes() -> None:
    snap = two_nodes()
    assert (snap.models, snap.node_model.tolist(), snap.total_gpu_milli) == (
        ["G2", "T4"],
        [1, 0, -1],
        6000,
    )
    assert snap.allocated_gpu_milli == 600
    assert snap.gpu_left.tolist() == [3400, 2000, 0]
    assert snap.full_gpus().tolist() == [3, 2, 0]


def test_a_cluster_needs_nodes() -> None:
    with pytest.raises(ValueError, match="at least one node"):
        snapshot.ClusterSnapshot([])


PLACEMENTS: list[tuple[int, pods.PodRequest, tuple[int, ...]]] = [
    (0, pod("share", cpu=1000, memory=1000, gpu=0.4), (0,)),
    (0, pod("pair", cpu=2000, memory=2000, gpus=2), (1, 3)),
    (1, pod("one", cpu=4000, memory=4000, gpus=1), (1,)),
    (2, pod("cpu", cpu=2000, memory=2000), ()),
]


def test_assign_charges_cpu_memory_gpus_and_shapes() -> None:
    snap = two_nodes()
    for i, p, gpus in PLACEMENTS:
        snap.assign(i, p, gpus)
    assert state(snap) == {
        # 8000 − 1000 − 2000; GPU 0: 400 − 400; shapes: 2 fractional (filler + share), 1 pair.
        "a": (5000, 16_000 - 3000, [0, 0, 1000, 0], [2, 0, 1, 0, 0]),
        "b": (0, 0, [1000, 0], [0, 1, 0, 0, 0]),
        "c": (0, 0, [], [0, 0, 0, 0, 0]),
    }
    assert snap.allocated_gpu_milli == 600 + 400 + 2000 + 1000


def test_release_undoes_assign_in_any_order() -> None:
    snap = two_nodes()
    before = state(snap)
    for i, p, gpus in PLACEMENTS:
        snap.assign(i, p, gpus)
    for i, p, gpus in [PLACEMENTS[2], PLACEMENTS[0], PLACEMENTS[3], PLACEMENTS[1]]:
        snap.release(i, p, gpus)
    assert state(snap) == before


def test_every_change_stamps_the_node() -> None:
    snap = two_nodes()
    start = snap.stamp
    snap.assign(1, pod(gpus=1), (0,))
    snap.assign(2, pod(), ())
    assert snap.changed_since(start).tolist() == [1, 2]
    assert snap.changed_since(start + 1).tolist() == [2]
    snap.release(1, pod(gpus=1), (0,))
    assert snap.changed_since(start + 1).tolist() == [1, 2]
    assert snap.changed_since(-1).tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("node_", "p", "gpus", "message"),
    [
        pytest.param(0, pod("p", gpus=2), (1,), "p: needs 2 GPUs, got 1", id="too-few-gpus"),
        pytest.param(0, pod("p", gpu=0.5), (), "p: needs 1 GPUs, got 0", id="share-without-gpu"),
        pytest.param(0, pod("p"), (1,), "p: needs 0 GPUs, got 1", id="cpu-pod-with-gpu"),
        pytest.param(
            0, pod("p", gpu=0.5), (0,), "p: GPU 0 of a cannot fit it", id="share-too-large"
        ),
        pytest.param(
            0, pod("p", gpus=2), (0, 1), "p: GPU 0 of a cannot fit it", id="whole-on-partly-used"
        ),
        # b has 2 GPUs; slot 3 exists only in the matrix (a has 4).
        pytest.param(1, pod("p", gpus=1), (3,), "p: b has no GPU 3", id="no-such-gpu"),
        pytest.param(2, pod("p", gpus=1), (0,), "p: c has no GPU 0", id="cpu-only-node"),
        pytest.param(1, pod("p", cpu=4001), (), "p: b lacks CPU or memory", id="cpu"),
        pytest.param(1, pod("p", cpu=1, memory=4001), (), "p: b lacks CPU or memory", id="memory"),
        pytest.param(
            1, pod("p", cpu=5000, gpus=1), (0,), "p: b lacks CPU or memory", id="cpu-of-gpu-pod"
        ),
    ],
)
def test_assign_refuses_over_commit_and_changes_nothing(
    node_: int, p: pods.PodRequest, gpus: tuple[int, ...], message: str
) -> None:
    snap = two_nodes()
    before, stamp = state(snap), snap.stamp
    with pytest.raises(ValueError) as err:
        snap.assign(node_, p, gpus)
    assert str(err.value) == message
    assert (state(snap), snap.stamp) == (before, stamp)



def test_assign_refuses_the_same_gpu_twice() -> None:
    snap = two_nodes()
    before = state(snap)
    with pytest.raises(ValueError, match="GPU 1"):
        snap.assign(0, pod("p", gpus=2), (1, 1))
    assert state(snap) == before



def test_assign_refuses_a_negative_gpu_index() -> None:
    snap = two_nodes()
    with pytest.raises(ValueError, match="GPU -1"):
        snap.assign(0, pod("p", gpus=1), (-1,))
