"""The cluster as a tree: the whole cluster at the root, then a TopologyDomain's levels
(broadest first), then each node, then the node's NVLink domains as leaves. Every GPU sits in
exactly one leaf, so a set of GPUs spans the deepest level at which they share a domain, and
the slowest link a gang's traffic crosses runs at that level's bandwidth.

Built from the TopologyDomain (level order, bandwidth), each node's `spec.topology` (its
domain per level) and its AcceleratorClass (`interconnect.domain_size` GPUs share one NVLink
domain, at `interconnect.bandwidth_gbps`). Levels of the TopologyDomain at or below the node
(the first whose value is the node's own name, or that reads `kubernetes.io/hostname`) become
the node and leaf levels, under their own names. A node missing a level's value is alone in
its domain at that level. Crossing the broadest level's domains goes at `spine_gbps`: the
broadest level's own bandwidth unless told, as a TopologyDomain names nothing above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from k8s4ai.api import accelerator, node, topology
from k8s4ai.scheduler import snapshot

CLUSTER = "cluster"
NODE = "node"
NVLINK = "nvlink"
HOSTNAME_LABEL = "kubernetes.io/hostname"
PCIE_GBPS = 64.0
"""Between GPUs of one node outside one NVLink domain when nothing says otherwise: PCIe Gen5
x16, about 64 GB/s each way (the AcceleratorClass's default interconnect bandwidth)."""
UNKNOWN_GBPS = 0.0
"""Bandwidth of levels inferred from nodes alone: placement never reads it."""


@dataclass(frozen=True, slots=True)
class Level:
    name: str
    bandwidth_gbps: float
    """GB/s per GPU, one way, between GPUs whose deepest shared domain is of this level."""


@dataclass(frozen=True, slots=True)
class Host:
    """One node as the tree sees it."""

    name: str
    path: tuple[str | None, ...]
    """Its domain at each level between the root and the node (None: not given)."""
    leaves: tuple[int, ...] = ()
    """GPUs in each of its NVLink domains, in GPU index order; () without GPUs."""
    nvlink_gbps: float = PCIE_GBPS

    @property
    def gpus(self) -> int:
        return sum(self.leaves)


class Tree:
    """Domains are numbered per level; per-leaf arrays (`leaf_domain[level]`) say which
    domain of each level a leaf is in, so per-domain sums are one `bincount` each."""

    def __init__(
        self,
        levels: Sequence[Level],
        hosts: Sequence[Host],
        node_level: Level = Level(NODE, PCIE_GBPS),
        leaf_name: str = NVLINK,
        spine_gbps: float | None = None,
    ) -> None:
        if not hosts:
            raise ValueError("a topology needs at least one node")
        above = list(levels)
        depth = len(above)
        if any(len(h.path) != depth for h in hosts):
            raise ValueError(f"every node needs a path of {depth} level values")
        root = spine_gbps if spine_gbps is not None else (above or [node_level])[0].bandwidth_gbps
        self.hosts = tuple(hosts)
        self.node_level = depth + 1
        self.leaf_level = depth + 2
        leaves = [
            (i, size, h.nvlink_gbps) for i, h in enumerate(hosts) for size in h.leaves or (0,)
        ]
        self.leaf_node: snapshot.IntArray = np.array([n for n, _, _ in leaves], dtype=np.int64)
        self.leaf_size: snapshot.IntArray = np.array([s for _, s, _ in leaves], dtype=np.int64)
        self.leaf_gbps = np.array([b for _, _, b in leaves], dtype=np.float64)
        self.levels = (
            Level(CLUSTER, root),
            *above,
            node_level,
            Level(leaf_name, float(self.leaf_gbps.max())),
        )
        width = max(1, max(h.gpus for h in hosts))
        self.gpu_leaf: snapshot.IntArray = np.full((len(hosts), width), -1, dtype=np.int64)
        starts = np.zeros(len(leaves), dtype=np.int64)
        leaf = 0
        for i, h in enumerate(hosts):
            start = 0
            for size in h.leaves or (0,):
                self.gpu_leaf[i, start : start + size] = leaf
                starts[leaf] = start
                start += size
                leaf += 1
        self.leaf_start = starts
        self.node_domain, self.names = self._node_domains(depth)
        self.leaf_domain: list[snapshot.IntArray] = [d[self.leaf_node] for d in self.node_domain]
        self.leaf_domain.append(np.arange(len(leaves), dtype=np.int64))
        self.names.append([f"{hosts[n].name}/{k}" for k, n in enumerate(self.leaf_node.tolist())])
        self.parent: list[snapshot.IntArray] = [np.zeros(1, dtype=np.int64)]
        for level in range(1, len(self.levels)):
            up = np.zeros(self.count(level), dtype=np.int64)
            up[self.leaf_domain[level]] = self.leaf_domain[level - 1]
            self.parent.append(up)
        self.children = [
            _grouped(self.parent[level + 1], self.count(level))
            for level in range(len(self.levels) - 1)
        ]
        self.members = [
            _grouped(self.node_domain[level], self.count(level))
            for level in range(self.node_level + 1)
        ]
        """The nodes (snapshot rows) of each domain, for levels down to the node."""
        self.capacity = self.sums(self.leaf_size)

    def _node_domains(self, depth: int) -> tuple[list[snapshot.IntArray], list[list[str]]]:
        """Each node's domain per level from the root to the node itself, and the names."""
        domains = [np.zeros(len(self.hosts), dtype=np.int64)]
        names: list[list[str]] = [[CLUSTER]]
        for level in range(1, depth + 1):
            index: dict[tuple[str, ...], int] = {}
            row = np.zeros(len(self.hosts), dtype=np.int64)
            for i, h in enumerate(self.hosts):
                key = tuple(v if v is not None else f"~{h.name}" for v in h.path[:level])
                row[i] = index.setdefault(key, len(index))
            domains.append(row)
            names.append([key[-1] for key in index])
        domains.append(np.arange(len(self.hosts), dtype=np.int64))
        names.append([h.name for h in self.hosts])
        return domains, names

    def count(self, level: int) -> int:
        return len(self.names[level])

    def level(self, name: str) -> int | None:
        return next((i for i, lv in enumerate(self.levels) if lv.name == name), None)

    def sums(self, per_leaf: snapshot.IntArray) -> list[snapshot.IntArray]:
        """A per-leaf quantity summed per domain, for every level."""
        return [
            np.bincount(domain, weights=per_leaf, minlength=self.count(level)).astype(np.int64)
            for level, domain in enumerate(self.leaf_domain)
        ]

    def nodes(self, level: int, domain: int) -> snapshot.IntArray:
        """The nodes (snapshot rows) of one domain."""
        if level == self.leaf_level:
            return self.leaf_node[domain : domain + 1]
        return self.members[level][domain]

    def span(self, gpus: Iterable[tuple[int, int]]) -> int:
        """The deepest level at which these (node, GPU index) pairs share one domain."""
        leaves = np.array([self.gpu_leaf[n, g] for n, g in gpus], dtype=np.int64)
        if leaves.size == 0 or (leaves < 0).any():
            raise ValueError("span needs at least one GPU, each of a known node")
        for level in range(self.leaf_level, -1, -1):
            if np.unique(self.leaf_domain[level][leaves]).size == 1:
                return level
        return 0  # pragma: no cover - the root holds every leaf

    def bandwidth(self, level: int, leaf: int | None = None) -> float:
        """GB/s per GPU inside one domain of `level` (a leaf's own NVLink when given)."""
        if level == self.leaf_level and leaf is not None:
            return float(self.leaf_gbps[leaf])
        return self.levels[level].bandwidth_gbps


def _grouped(owner: snapshot.IntArray, groups: int) -> list[snapshot.IntArray]:
    """For each group, the indices whose owner it is, in index order."""
    order = np.argsort(owner, kind="stable")
    cuts = np.cumsum(np.bincount(owner, minlength=groups))[:-1]
    return [part.astype(np.int64) for part in np.split(order, cuts)]


def build(
    topo: topology.TopologyDomain | None,
    nodes: Sequence[node.Node],
    classes: Mapping[str, accelerator.AcceleratorClass],
    gpus: Sequence[int] | None = None,
    spine_gbps: float | None = None,
) -> Tree:
    """The tree of API objects. `gpus` is each node's GPU count as placement sees it (the
    snapshot's, which counts only the node's main class); the spec's count by default."""
    levels = (
        [Level(lv.name, lv.bandwidth_gbps) for lv in topo.spec.levels]
        if topo is not None
        else _inferred(nodes)
    )
    labels = {lv.name: lv.node_label for lv in topo.spec.levels} if topo is not None else {}
    at = next(
        (
            i
            for i, lv in enumerate(levels)
            if labels.get(lv.name) == HOSTNAME_LABEL
            or all(n.spec.topology.get(lv.name) == n.metadata.name for n in nodes)
        ),
        None,
    )
    above = levels if at is None else levels[:at]
    node_level = Level(NODE, PCIE_GBPS) if at is None else levels[at]
    leaf = levels[at + 1].name if at is not None and at + 1 < len(levels) else NVLINK
    counts = [n.spec.gpu_count() for n in nodes] if gpus is None else list(gpus)
    hosts = [_host(n, count, above, classes) for n, count in zip(nodes, counts, strict=True)]
    return Tree(above, hosts, node_level, leaf, spine_gbps)


def _inferred(nodes: Sequence[node.Node]) -> list[Level]:
    """Without a TopologyDomain: the nodes' level names, fewest distinct values first."""
    seen: dict[str, set[str]] = {}
    for n in nodes:
        for name, value in n.spec.topology.items():
            seen.setdefault(name, set()).add(value)
    order = sorted(seen, key=lambda name: len(seen[name]))
    return [Level(name, UNKNOWN_GBPS) for name in order]


def _host(
    n: node.Node,
    gpus: int,
    above: Sequence[Level],
    classes: Mapping[str, accelerator.AcceleratorClass],
) -> Host:
    counts: dict[str, int] = {}
    for group in n.spec.gpus:
        counts[group.accelerator_class] = counts.get(group.accelerator_class, 0) + group.count
    cls = classes.get(max(counts, key=lambda c: counts[c])) if counts else None
    size = cls.spec.interconnect.domain_size if cls is not None else max(gpus, 1)
    size = max(1, min(size, gpus))
    leaves = tuple([size] * (gpus // size) + ([gpus % size] if gpus % size else []))
    gbps = cls.spec.interconnect.bandwidth_gbps if cls is not None else PCIE_GBPS
    path = tuple(n.spec.topology.get(lv.name) for lv in above)
    return Host(n.metadata.name, path, leaves, gbps)
