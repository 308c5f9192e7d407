"""Where a gang goes: the smallest domain that fits it, tie-broken by the fragmentation it
leaves. Pure: it reads free GPUs per leaf of a `tree.Tree` and returns a node per pod, or
why not, and changes nothing.

The search takes its ideas from Kueue's topology-aware scheduling (BestFit) and Volcano's
HyperNode tiers; the code is ours:

1. From the deepest level (one NVLink domain) up to the root, the first level with a domain
   that holds every pod is where the gang goes. A pod never spans nodes, so a domain of
   several nodes holds the gang when best-fit decreasing packs its pods onto those nodes.
   `required: L` stops the search at L and refuses, naming L; `preferred: L` does not stop:
   it is tried at L and below first, then one level up at a time to the whole cluster, and
   the placement says when it had to go above L.
2. Among that level's domains that hold the gang, the one left with the fewest free GPUs,
   then the one whose parent, grandparent... has the fewest free (Volcano's tiered bin
   packing): partly used domains fill up, and empty ones stay whole for the next big gang.
3. Inside it, pods go to as few child domains as possible, recursively: while what is left
   fits no single child, the child with the most free GPUs takes all it can hold; the rest
   go to the child that holds them most tightly (Kueue's BestFit).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from k8s4ai.scheduler import snapshot
from k8s4ai.scheduler.topology import tree as topo_tree

LISTED = 4
"""Domains named in a refusal, most free first."""


@dataclass(frozen=True, slots=True)
class Constraint:
    """`level` None: no level named, only the smallest domain that fits."""

    level: str | None = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class Placement:
    level: int
    """Tree level of the smallest domain holding every pod."""
    domain: int
    nodes: tuple[int, ...]
    """The node (snapshot row) of each pod, in the order the pods were given."""
    leaf: int | None = None
    """The NVLink domain holding the whole gang, when one does."""
    degraded: bool = False
    """Placed above the preferred level: no domain of it had room."""


class Why(enum.Enum):
    TOO_LARGE = "too-large"
    """No domain of the level is big enough, even empty."""
    NO_ROOM = "no-room"
    """Domains are big enough, none has room now."""
    UNKNOWN_LEVEL = "unknown-level"


@dataclass(frozen=True, slots=True)
class Refusal:
    level: str
    why: Why
    need: int
    largest: int = 0
    """GPUs the gang may use in the largest domain of the level."""
    free: int = 0
    most: int = 0
    """Most free GPUs in one domain of the level."""
    listing: tuple[tuple[str, int], ...] = ()
    levels: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        head = f"needs {self.need} GPUs in one {self.level}"
        if self.why is Why.UNKNOWN_LEVEL:
            return f"{head}; the topology has no level {self.level} ({', '.join(self.levels)})"
        if self.why is Why.TOO_LARGE:
            return f"{head}; the largest {self.level} has {self.largest} GPUs it may use"
        named = ", ".join(f"{d} {v}" for d, v in self.listing) or "none"
        return f"{head}; {self.free} are free, at most {self.most} in one {self.level} ({named})"


def place(
    tree: topo_tree.Tree,
    free: snapshot.IntArray,
    pods: Sequence[int],
    constraint: Constraint | None = None,
    capacity: snapshot.IntArray | None = None,
) -> Placement | Refusal:
    """Place pods of `pods[i]` GPUs each, with `free[leaf]` GPUs free per leaf.
    `capacity[leaf]` (default: every GPU) is what the gang may use at all, for refusals."""
    order = sorted(range(len(pods)), key=lambda i: -pods[i])
    desc = [int(pods[i]) for i in order]
    need = sum(desc)
    stop, preferred = 0, None
    if constraint is not None and constraint.level is not None:
        at = tree.level(constraint.level)
        if at is None and constraint.required:
            names = tuple(lv.name for lv in tree.levels)
            return Refusal(constraint.level, Why.UNKNOWN_LEVEL, need, levels=names)
        if at is not None and constraint.required:
            stop = at
        preferred = at
    search = _Search(tree, free)
    for level in range(tree.leaf_level, stop - 1, -1):
        domain = search.best(level, desc)
        if domain is None:
            continue
        assigned = search.assign(level, domain, desc)
        nodes = [0] * len(desc)
        for position, i in enumerate(order):
            nodes[i] = assigned[position]
        return Placement(
            level,
            domain,
            tuple(nodes),
            domain if level == tree.leaf_level else None,
            preferred is not None and level < preferred,
        )
    return _refusal(tree, stop, need, search.sums, capacity)


def smallest_feasible(tree: topo_tree.Tree, pods: Sequence[int]) -> int | None:
    """The deepest level with a domain that could hold the gang on an empty cluster."""
    found = place(tree, tree.leaf_size, pods)
    return found.level if isinstance(found, Placement) else None


def stranded(
    tree: topo_tree.Tree, free: snapshot.IntArray, pods: Sequence[int], level: int | None = None
) -> int:
    """Free GPUs this gang could not use at its smallest feasible level (`level`, computed
    when not given): those outside every domain of that level that holds it now. All free
    GPUs when nothing could ever hold it."""
    total = int(free.sum())
    level = smallest_feasible(tree, pods) if level is None else level
    if level is None:
        return total
    search = _Search(tree, free)
    desc = sorted((int(p) for p in pods), reverse=True)
    usable = sum(int(search.sums[level][d]) for d in search.fitting(level, desc))
    return total - usable


def pick_gpus(
    tree: topo_tree.Tree, node: int, free: Sequence[int], count: int, leaf: int | None = None
) -> tuple[int, ...]:
    """`count` of the node's `free` GPU indices: all in `leaf` when it has room, else in the
    NVLink domain that holds them most tightly, else from the fullest-free domains first."""
    by_leaf: dict[int, list[int]] = {}
    for g in sorted(free):
        by_leaf.setdefault(int(tree.gpu_leaf[node, g]), []).append(g)
    if sum(len(v) for v in by_leaf.values()) < count:
        raise ValueError(f"node {tree.hosts[node].name} has {len(free)} free GPUs, not {count}")
    if leaf is not None and len(by_leaf.get(leaf, ())) >= count:
        return tuple(by_leaf[leaf][:count])
    holding = [lf for lf, gpus in by_leaf.items() if len(gpus) >= count]
    if holding:
        best = min(holding, key=lambda lf: (len(by_leaf[lf]), lf))
        return tuple(by_leaf[best][:count])
    taken: list[int] = []
    for lf in sorted(by_leaf, key=lambda lf: (-len(by_leaf[lf]), lf)):
        taken += by_leaf[lf][: count - len(taken)]
    return tuple(sorted(taken))


class _Search:
    def __init__(self, tree: topo_tree.Tree, free: snapshot.IntArray) -> None:
        self.tree = tree
        self.sums = tree.sums(free)
        self.node_free = self.sums[tree.node_level]

    def _holds(self, level: int, domain: int, desc: Sequence[int]) -> bool:
        if level >= self.tree.node_level:
            return sum(desc) <= int(self.sums[level][domain])
        return _fits(desc, self.node_free[self.tree.members[level][domain]])

    def fitting(self, level: int, desc: Sequence[int]) -> list[int]:
        totals = self.sums[level]
        candidates = np.flatnonzero(totals >= sum(desc)).tolist()
        if level >= self.tree.node_level:
            return candidates
        return [d for d in candidates if self._holds(level, d, desc)]

    def best(self, level: int, desc: Sequence[int]) -> int | None:
        """The domain of `level` that holds the gang with the least free left, ties to the
        one with the busiest ancestors; None when none holds it."""
        candidates = np.array(self.fitting(level, desc), dtype=np.int64)
        if candidates.size == 0:
            return None
        keys = [candidates]
        above = candidates
        for up in range(level - 1, 0, -1):
            above = self.tree.parent[up + 1][above]
            keys.insert(1, self.sums[up][above])
        keys.append(self.sums[level][candidates])
        return int(candidates[np.lexsort(keys)[0]])

    def assign(self, level: int, domain: int, desc: Sequence[int]) -> list[int]:
        """A node for each pod of `desc` inside a domain that holds them all."""
        tree = self.tree
        if level >= tree.node_level:
            node = domain if level == tree.node_level else int(tree.leaf_node[domain])
            return [node] * len(desc)
        spread = self._spread(level, domain, desc)
        if spread is not None:
            return spread
        nodes = tree.members[level][domain]
        packed = _pack(desc, self.node_free[nodes].tolist(), partial=False)
        assert packed is not None, "assign needs a domain that holds the gang"
        return [int(nodes[packed[k]]) for k in range(len(desc))]

    def _spread(self, level: int, domain: int, desc: Sequence[int]) -> list[int] | None:
        below = level + 1
        free = self.sums[below]
        kids = self.tree.children[level][domain].tolist()
        out: dict[int, int] = {}
        left = list(range(len(desc)))
        while left:
            part = [desc[k] for k in left]
            holding = [c for c in kids if self._holds(below, c, part)]
            if holding:
                last = min(holding, key=lambda c: (free[c], c))
                out.update(zip(left, self.assign(below, last, part), strict=True))
                return [out[k] for k in range(len(desc))]
            if not kids:
                return None
            widest = max(kids, key=lambda c: (free[c], -c))
            kids.remove(widest)
            taken = self._take(below, widest, part)
            if not taken:
                return None
            chunk = [part[t] for t in taken]
            out.update(
                zip([left[t] for t in taken], self.assign(below, widest, chunk), strict=True)
            )
            chosen = set(taken)
            left = [k for t, k in enumerate(left) if t not in chosen]
        return [out[k] for k in range(len(desc))]

    def _take(self, level: int, domain: int, desc: Sequence[int]) -> list[int]:
        """Positions in `desc` of the pods the domain can hold, largest first."""
        if level >= self.tree.node_level:
            room, taken = int(self.sums[level][domain]), []
            for k, pods in enumerate(desc):
                if pods <= room:
                    taken.append(k)
                    room -= pods
            return taken
        frees = self.node_free[self.tree.members[level][domain]].tolist()
        packed = _pack(desc, frees, partial=True)
        assert packed is not None
        return sorted(packed)


def _fits(desc: Sequence[int], frees: snapshot.IntArray) -> bool:
    if not desc:
        return True
    if desc[0] == desc[-1] and desc[0] > 0:
        return int((frees // desc[0]).sum()) >= len(desc)
    return _pack(desc, frees.tolist(), partial=False) is not None


def _pack(desc: Sequence[int], frees: list[int], partial: bool) -> dict[int, int] | None:
    """Best-fit decreasing: each pod (largest first) onto the node with the least free GPUs
    that holds it. Pod position → index into `frees`; a pod that fits nowhere fails the
    whole packing, or is left out when `partial`."""
    room = sorted((f, i) for i, f in enumerate(frees))
    out: dict[int, int] = {}
    for k, pods in enumerate(desc):
        at = bisect.bisect_left(room, (pods, -1))
        if at == len(room):
            if partial:
                continue
            return None
        left, i = room.pop(at)
        out[k] = i
        bisect.insort(room, (left - pods, i))
    return out


def _refusal(
    tree: topo_tree.Tree,
    level: int,
    need: int,
    sums: list[snapshot.IntArray],
    capacity: snapshot.IntArray | None,
) -> Refusal:
    name = tree.levels[level].name
    sizes = tree.sums(capacity)[level] if capacity is not None else tree.capacity[level]
    largest = int(sizes.max(initial=0))
    if largest < need:
        return Refusal(name, Why.TOO_LARGE, need, largest=largest)
    free = sums[level]
    names = tree.names[level]
    top = sorted(range(len(free)), key=lambda d: (-int(free[d]), names[d]))[:LISTED]
    listing = tuple((names[d], int(free[d])) for d in top if free[d] > 0)
    return Refusal(
        name, Why.NO_ROOM, need, largest, int(free.sum()), int(free.max(initial=0)), listing
    )
