"""The topology placer on a snapshot: gangs with a constraint go where `placement` says, on
GPUs of one NVLink domain when they fit; others go to the core's best-fit placer."""

from __future__ import annotations

import numpy as np

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import gang, reasons, workload
from k8s4ai.scheduler.topology import placement, placer

from .fabric import fabric

RACK = placement.Constraint("rack", required=True)


def setup(
    constraints: dict[str, placement.Constraint], nvlink: int | None = None, per_rack: int = 2
) -> placer.Placer:
    t = fabric(2, 2, per_rack, nvlink=nvlink)
    specs = [snapshot.NodeSpec(h.name, 64_000, 512_000, h.gpus, "h100") for h in t.hosts]
    snap = snapshot.ClusterSnapshot(specs)
    return placer.Placer(snap, np.random.default_rng(0), t, lambda wl: constraints.get(wl.name))


def job(name: str, *sizes: int, cpu: int = 1000, milli: int = pods.MILLI) -> workload.Workload:
    made = tuple(
        pods.PodRequest(f"{name}-{i}", cpu, 1024, n, milli if n else 0) for i, n in enumerate(sizes)
    )
    return workload.Workload(name, "q", made)


def nodes(placed: list[workload.Placed] | gang.Refused) -> list[int]:
    assert isinstance(placed, list), placed
    return sorted(p.node for p in placed)


def occupy(p: placer.Placer, *rows: int) -> None:
    for row in rows:
        p.snap.assign(row, pods.PodRequest(f"busy-{row}", 0, 0, 8, pods.MILLI), tuple(range(8)))


def test_a_required_gang_lands_in_one_rack_and_is_charged_to_the_snapshot() -> None:
    p = setup({"train": RACK})
    occupy(p, 0, 3)
    placed = p.place(job("train", 8, 8))
    assert nodes(placed) == [4, 5]
    assert p.last is not None and p.last.level == p.tree.level("rack")
    assert p.snap.gpu_free[[4, 5]].sum() == 0


def test_a_required_gang_without_room_waits_with_a_topology_reason() -> None:
    p = setup({"train": RACK})
    occupy(p, 0, 3, 4, 7)
    refused = p.place(job("train", 8, 8))
    assert isinstance(refused, gang.Refused)
    assert refused.reason.kind is reasons.Kind.FRAGMENTATION
    assert refused.reason.plugin == placer.PLUGIN
    assert refused.reason.message.startswith("needs 16 GPUs in one rack; 32 are free")
    assert p.snap.gpu_free.sum() == 4 * 8 * pods.MILLI


def test_a_preferred_gang_without_room_in_its_level_spans_the_next_one() -> None:
    p = setup({"train": placement.Constraint("rack")})
    occupy(p, 0, 3, 4, 7)
    assert nodes(p.place(job("train", 8, 8))) == [1, 2]
    assert p.last is not None and p.last.degraded


def test_a_gang_without_a_constraint_goes_to_the_core_placer() -> None:
    p = setup({})
    placed = p.place(job("train", 8))
    assert len(nodes(placed)) == 1 and p.last is None


def test_the_cache_key_tells_constraints_apart() -> None:
    p = setup({"a": RACK, "b": placement.Constraint("rack")})
    assert p.key(job("a", 8)) != p.key(job("b", 8)) != p.key(job("c", 8))


def test_gpus_come_from_one_nvlink_domain() -> None:
    p = setup({"small": RACK}, nvlink=4)
    p.snap.assign(0, pods.PodRequest("busy", 0, 0, 3, pods.MILLI), (0, 1, 4))
    placed = p.place(job("small", 2))
    # Domain 0 has GPUs 2 and 3 left, domain 1 three: the tighter one takes the pod.
    assert isinstance(placed, list) and [(x.node, x.gpus) for x in placed] == [(0, (2, 3))]


def test_fractional_pods_take_a_gpu_with_room() -> None:
    p = setup({"share": RACK})
    p.snap.assign(0, pods.PodRequest("half", 0, 0, 1, 500), (0,))
    placed = p.place(job("share", 1, milli=250))
    assert isinstance(placed, list) and [(x.node, x.gpus) for x in placed] == [(0, (0,))]


def test_when_cpu_runs_out_the_core_placer_fills_the_chosen_domain() -> None:
    """Two pods of 40 CPUs fit one 64-CPU node by GPUs, not by CPU: they still share a rack."""
    p = setup({"cpu": RACK})
    placed = p.place(job("cpu", 4, 4, cpu=40_000))
    assert len(set(nodes(placed))) == 2
    assert p.tree.span([(x.node, x.gpus[0]) for x in placed]) == p.tree.level("rack")


def test_extra_pods_beyond_min_member_join_the_same_domain_when_they_fit() -> None:
    p = setup({"elastic": RACK})
    made = tuple(pods.PodRequest(f"e-{i}", 1000, 1024, 8, pods.MILLI) for i in range(3))
    wl = workload.Workload("elastic", "q", made, min_member=2)
    occupy(p, 1, 2, 3, 6, 7)
    # Nodes 0, 4 and 5 are free: the gang takes rack b1-r0, the third pod may not leave it.
    assert nodes(p.place(wl)) == [4, 5]
    p = setup({"elastic": RACK}, per_rack=3)
    occupy(p, 3, 4)
    # Rack b0-r1 has one free node, rack b0-r0 three: all three pods go there.
    assert nodes(p.place(wl)) == [0, 1, 2]
