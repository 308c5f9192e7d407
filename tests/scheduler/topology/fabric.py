"""Small hand-built trees for the topology tests: `fabric(2, 2, 2)` is 2 blocks × 2 racks ×
2 nodes of 8 GPUs, nodes numbered in topology order (node 0 and 1 share rack b0-r0)."""

from __future__ import annotations

import numpy as np

from k8s4ai.scheduler import snapshot
from k8s4ai.scheduler.topology import tree as topo_tree

BLOCK_GBPS, RACK_GBPS, NODE_GBPS, NVLINK_GBPS, SPINE_GBPS = 25.0, 50.0, 64.0, 450.0, 6.25


def fabric(
    blocks: int, racks: int, nodes: int, gpus: int = 8, nvlink: int | None = None
) -> topo_tree.Tree:
    """`nvlink` GPUs per NVLink domain (the whole node when None)."""
    size = nvlink or gpus
    leaves = tuple([size] * (gpus // size))
    hosts = [
        topo_tree.Host(f"b{b}-r{r}-n{n}", (f"b{b}", f"b{b}-r{r}"), leaves, NVLINK_GBPS)
        for b in range(blocks)
        for r in range(racks)
        for n in range(nodes)
    ]
    levels = [topo_tree.Level("block", BLOCK_GBPS), topo_tree.Level("rack", RACK_GBPS)]
    node = topo_tree.Level("node", NODE_GBPS)
    return topo_tree.Tree(levels, hosts, node, "nvlink", SPINE_GBPS)


def free(tree: topo_tree.Tree, **busy: int) -> snapshot.IntArray:
    """Free GPUs per leaf of single-leaf nodes, with `n<i>=k` GPUs in use on node i."""
    out: snapshot.IntArray = tree.leaf_size.copy()
    for key, used in busy.items():
        node = int(key.removeprefix("n"))
        out[np.flatnonzero(tree.leaf_node == node)[0]] -= used
    return out
