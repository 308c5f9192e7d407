"""Extension points and the one runtime that combines plugins, after the Kubernetes scheduling
framework: Filter plugins remove nodes, Score plugins rank what is left on a 0-100 scale, a
profile weights and sums them, and a GPU selector picks the devices on the chosen node.

Keeping each policy a set of plugins (rather than a function) is what lets FGD, packing and
topology scoring be combined and compared with the per-plugin breakdown kept.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from k8s4ai.scheduler import pods, snapshot

FloatArray = npt.NDArray[np.float64]
MAX_SCORE = 100.0

CACHED_SHAPES = 512
"""Pod shapes whose per-node verdicts are kept (least recently used dropped first): a few
hundred covers a trace's common shapes while bounding memory at ~25 bytes × nodes each."""


class FilterPlugin(Protocol):
    name: str
    node_local: bool
    """True when a node's verdict depends only on that node and the pod, so it can be reused
    until the node changes."""

    def filter(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> snapshot.BoolArray:
        """For each of `nodes`, whether this plugin lets the pod run there."""
        ...

    def reason(self, pod: pods.PodRequest) -> str:
        """Why no node passed, for the pod's status."""
        ...


class ScorePlugin(Protocol):
    name: str
    node_local: bool

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> FloatArray:
        """A score in [0, 100] for each of `nodes` (higher is better)."""
        ...


class GpuSelector(Protocol):
    def select(
        self, snap: snapshot.ClusterSnapshot, node: int, pod: pods.PodRequest
    ) -> tuple[int, ...]:
        """Which GPUs of `node` the pod takes (empty for CPU-only pods)."""
        ...


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    filters: tuple[FilterPlugin, ...]
    scores: tuple[tuple[ScorePlugin, float], ...]
    selector: GpuSelector

    @property
    def node_local(self) -> bool:
        plugins: list[FilterPlugin | ScorePlugin] = [*self.filters, *(p for p, _ in self.scores)]
        return all(p.node_local for p in plugins)


@dataclass(frozen=True, slots=True)
class Placement:
    pod: pods.PodRequest
    node: int
    gpus: tuple[int, ...]
    score: float
    breakdown: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A pod that fits nowhere: which plugin removed the last candidates, and why."""

    pod: pods.PodRequest
    plugin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.pod.name}: {self.plugin}: {self.reason}"


class _Verdicts:
    """Per-node filter and score results for one pod shape, valid as of `stamp`."""

    def __init__(self, size: int, plugins: list[str]) -> None:
        self.stamp = -1
        self.feasible = np.zeros(size, dtype=bool)
        self.total = np.full(size, -np.inf)
        self.parts = {name: np.zeros(size) for name in plugins}


class Runtime:
    """Runs a profile against a snapshot. `rng` orders nodes for breaking ties among equal
    best scores, so runs are reproducible by seed.

    When every plugin is node-local, results are kept per pod shape and only nodes changed
    since are re-evaluated: on a trace with a few hundred pod shapes this turns each decision
    from a pass over every node into a pass over the handful that changed.
    """

    def __init__(self, profile: Profile, rng: np.random.Generator) -> None:
        self.profile = profile
        self._rng = rng
        self._cache: collections.OrderedDict[pods.Shape, _Verdicts] = collections.OrderedDict()
        self._score_names = [p.name for p, _ in profile.scores]
        self._order: snapshot.IntArray | None = None

    def _rank(self, size: int) -> snapshot.IntArray:
        """Each node's place in one random order drawn per run. Ties go to the earliest node,
        so pods that score alike land together instead of being scattered: the published
        simulator behaves so (its node list is sorted by randomly prefixed names), and with
        coarse integer scores this decides how tightly a policy packs."""
        if self._order is None or len(self._order) != size:
            self._order = self._rng.permutation(size)
        return self._order

    def _verdicts(self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest) -> _Verdicts:
        key = pod.shape
        verdicts = self._cache.get(key) if self.profile.node_local else None
        if verdicts is not None:
            self._cache.move_to_end(key)
        else:
            verdicts = _Verdicts(len(snap), self._score_names)
            if self.profile.node_local:
                self._cache[key] = verdicts
                if len(self._cache) > CACHED_SHAPES:
                    self._cache.popitem(last=False)
        nodes = snap.changed_since(verdicts.stamp)
        if nodes.size:
            self._evaluate(snap, pod, nodes, verdicts)
        verdicts.stamp = snap.stamp
        return verdicts

    def _evaluate(
        self,
        snap: snapshot.ClusterSnapshot,
        pod: pods.PodRequest,
        nodes: snapshot.IntArray,
        verdicts: _Verdicts,
    ) -> None:
        mask = np.ones(len(nodes), dtype=bool)
        for f in self.profile.filters:
            candidates = nodes[mask]
            if not candidates.size:
                break
            mask[mask] = f.filter(snap, pod, candidates)
        verdicts.feasible[nodes] = mask
        verdicts.total[nodes[~mask]] = -np.inf
        feasible = nodes[mask]
        if not feasible.size:
            return
        total = np.zeros(len(feasible))
        for plugin, weight in self.profile.scores:
            scores = plugin.score(snap, pod, feasible)
            verdicts.parts[plugin.name][feasible] = scores
            total += weight * scores
        verdicts.total[feasible] = total

    def _refusal(self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest) -> Refusal:
        nodes: snapshot.IntArray = np.arange(len(snap))
        for f in self.profile.filters:
            nodes = nodes[f.filter(snap, pod, nodes)]
            if not nodes.size:
                return Refusal(pod, f.name, f.reason(pod))
        return Refusal(pod, "Runtime", "no feasible node")  # pragma: no cover

    def schedule(self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest) -> Placement | Refusal:
        """Choose a node and GPUs for `pod` without changing the snapshot."""
        verdicts = self._verdicts(snap, pod)
        if not verdicts.feasible.any():
            return self._refusal(snap, pod)
        total = verdicts.total
        best = np.flatnonzero(total >= total.max() - 1e-9)
        node = int(best[np.argmin(self._rank(len(snap))[best])])
        gpus = self.profile.selector.select(snap, node, pod)
        breakdown = {name: float(part[node]) for name, part in verdicts.parts.items()}
        return Placement(pod, node, gpus, float(total[node]), breakdown)

    def place(self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest) -> Placement | Refusal:
        """`schedule`, then charge the placement to the snapshot."""
        result = self.schedule(snap, pod)
        if isinstance(result, Placement):
            snap.assign(result.node, pod, result.gpus)
        return result
