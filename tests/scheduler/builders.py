"""Small hand-built clusters and pods for the placement tests, for example:

    snap = cluster(node("a", gpus=8, model="G2", cpu=96_000), node("b", gpus=2, model="T4"))
    used(snap, "a", 700, 0, 1000)          # GPU 0 of a has 300 milli free, GPU 2 none
    put(snap, "b", pod("c", cpu=4000))     # a CPU-only pod charged to b
    scores(plugin, snap, pod("p", gpu=0.5))  # {"a": …, "b": …}

Expected values in the tests are worked out by hand from docs/fgd-simulator-semantics.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from k8s4ai.scheduler import framework, pods, snapshot

CPU = 96_000
MEMORY = 512_000


def node(
    name: str, *, gpus: int = 0, model: str = "G2", cpu: int = CPU, memory: int = MEMORY
) -> snapshot.NodeSpec:
    return snapshot.NodeSpec(name, cpu, memory, gpus, model if gpus else "")


def cluster(*nodes: snapshot.NodeSpec) -> snapshot.ClusterSnapshot:
    return snapshot.ClusterSnapshot(nodes)


def pod(
    name: str = "p",
    *,
    cpu: int = 1000,
    memory: int = 1024,
    gpu: float | None = None,
    gpus: int | None = None,
    models: str | None = None,
) -> pods.PodRequest:
    """`gpu=0.5` is a fractional pod (one GPU, 500 milli), `gpus=k` takes k whole GPUs,
    neither is CPU-only; `models="T4|P100"` restricts the GPU model."""
    if gpu is not None and gpus is not None:
        raise ValueError("give gpu (a share of one GPU) or gpus (whole GPUs), not both")
    num_gpu, milli = 0, 0
    if gpu is not None:
        num_gpu, milli = 1, round(gpu * pods.MILLI)
    elif gpus is not None:
        num_gpu, milli = gpus, pods.MILLI
    allowed = frozenset(models.split("|")) if models is not None else None
    return pods.PodRequest(name, cpu, memory, num_gpu, milli, allowed)


def at(snap: snapshot.ClusterSnapshot, name: str) -> int:
    return snap.names.index(name)


def put(
    snap: snapshot.ClusterSnapshot, name: str, p: pods.PodRequest, gpus: Sequence[int] = ()
) -> snapshot.ClusterSnapshot:
    """Charge `p` to node `name` on `gpus`."""
    snap.assign(at(snap, name), p, gpus)
    return snap


def used(snap: snapshot.ClusterSnapshot, name: str, *milli: int) -> snapshot.ClusterSnapshot:
    """Pre-load GPU g of node `name` with `milli[g]` milli-GPU, one zero-CPU pod per busy GPU
    (fractional below 1000, a one-GPU whole pod at 1000)."""
    for g, m in enumerate(milli):
        if m:
            filler = pods.PodRequest(f"{name}-gpu{g}", 0, 0, 1, m)
            snap.assign(at(snap, name), filler, (g,))
    return snap


def free(snap: snapshot.ClusterSnapshot, name: str) -> list[int]:
    """Free milli-GPU on each GPU of node `name`."""
    i = at(snap, name)
    return [int(m) for m in snap.gpu_free[i, : snap.gpu_count[i]]]


def state(snap: snapshot.ClusterSnapshot) -> dict[str, tuple[int, int, list[int], list[int]]]:
    """Everything a placement changes, per node: free CPU, free memory, free milli per GPU,
    and the GPU pods by shape (fractional, then by whole-GPU count)."""
    return {
        name: (
            int(snap.cpu_free[i]),
            int(snap.memory_free[i]),
            free(snap, name),
            [int(c) for c in snap.shape_counts[i]],
        )
        for i, name in enumerate(snap.names)
    }


def everywhere(snap: snapshot.ClusterSnapshot) -> snapshot.IntArray:
    nodes: snapshot.IntArray = np.arange(len(snap))
    return nodes


def passing(
    plugin: framework.FilterPlugin, snap: snapshot.ClusterSnapshot, p: pods.PodRequest
) -> list[str]:
    """Names of the nodes `plugin` lets `p` run on."""
    mask = plugin.filter(snap, p, everywhere(snap))
    return [name for name, ok in zip(snap.names, mask, strict=True) if ok]


def scores(
    plugin: framework.ScorePlugin,
    snap: snapshot.ClusterSnapshot,
    p: pods.PodRequest,
    names: Sequence[str] | None = None,
) -> dict[str, float]:
    """`plugin`'s score for `p` on each named node (all nodes by default)."""
    chosen = list(names) if names is not None else snap.names
    values = plugin.score(snap, p, np.array([at(snap, n) for n in chosen]))
    return {n: float(v) for n, v in zip(chosen, values, strict=True)}
