"""Plugins that learn from the run as it goes: an observer that records each pod in an
`ArrivalMix`, and FGD with its typical pods taken from that mix instead of from the pod
list.

Scores that change with what has been seen are not node-local, so the runtime asks for
every node on every pod; `Stamped` keeps a node-local plugin's results per pod shape and
recomputes only the nodes changed since, as the runtime itself does for node-local profiles.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from k8s4ai.scheduler import framework, pods, snapshot
from k8s4ai.scheduler.plugins import arrivalmix, fgd


class Observe:
    """Records each pod it is asked to score in the mix, and scores every node 0.

    Put it first in a profile: the runtime scores each pod that fits somewhere once, before
    placing it, so the mix holds every pod placed so far and the one being placed. Pods that
    fit nowhere are never scored and are not counted."""

    name = "Observe"
    node_local = False

    def __init__(self, mix: arrivalmix.ArrivalMix) -> None:
        self.mix = mix

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        self.mix.observe(pod)
        return np.zeros(len(nodes))


class Stamped:
    """A node-local score plugin's results kept per pod shape; a node's result is reused
    until the node changes, and only nodes asked for are computed."""

    node_local = False

    def __init__(self, inner: framework.ScorePlugin) -> None:
        self.inner = inner
        self.name = inner.name
        self._kept: collections.OrderedDict[
            pods.Shape, tuple[framework.FloatArray, snapshot.IntArray]
        ] = collections.OrderedDict()

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        kept = self._kept.pop(pod.shape, None)
        if kept is None:
            kept = (np.zeros(len(snap)), np.full(len(snap), -1, dtype=np.int64))
        scores, valid_at = kept
        stale = nodes[valid_at[nodes] < snap.changed_at[nodes]]
        if stale.size:
            scores[stale] = self.inner.score(snap, pod, stale)
            valid_at[stale] = snap.stamp
        self._kept[pod.shape] = kept
        if len(self._kept) > framework.CACHED_SHAPES:
            self._kept.popitem(last=False)
        result: framework.FloatArray = scores[nodes]
        return result


class Narrowing(Protocol):
    def cheapest(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> snapshot.BoolArray: ...


class OnlineFgd:
    """FGD whose typical pods are the pods seen so far, rebuilt each time their number
    doubles (so a run of n pods rebuilds log2 n times and scores stay cacheable between).

    Given `among` (a plugin weighted far above it, whose ties it breaks), it scores only the
    nodes `among` ranks best and 0 elsewhere: the sum ranks nodes the same, and FGD, the
    costly part, runs on a handful of nodes instead of every node. Given `fixed` typical
    pods (the published FGD's, from the pod list), it uses them and learns nothing."""

    name = "FGD"
    node_local = False

    def __init__(
        self,
        mix: arrivalmix.ArrivalMix,
        models: Sequence[str],
        among: Narrowing | None = None,
        fixed: fgd.TypicalPods | None = None,
    ) -> None:
        self.mix = mix
        self.models = tuple(models)
        self.among = among
        self.fixed = fixed
        self._built_at = 0 if fixed is None else -1
        self._scores = Stamped(self._fgd())

    def _fgd(self) -> fgd.FragmentationGradient:
        if self.fixed is not None:
            return fgd.FragmentationGradient(self.fixed)
        return fgd.FragmentationGradient(fgd.TypicalPods.from_workload(self.mix.seen, self.models))

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        if self._built_at >= 0 and len(self.mix) >= 2 * self._built_at:
            self._built_at = max(len(self.mix), 1)
            self._scores = Stamped(self._fgd())
        if self.among is None:
            return self._scores.score(snap, pod, nodes)
        chosen = self.among.cheapest(snap, pod, nodes)
        result = np.zeros(len(nodes))
        result[chosen] = self._scores.score(snap, pod, nodes[chosen])
        return result
