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
