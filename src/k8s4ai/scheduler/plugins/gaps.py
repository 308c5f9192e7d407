"""Dead gaps: place a fractional pod where the room it leaves on the GPU will still be used.

Why: under FGD, most GPU left unallocated at 130 % load on the Alibaba trace is gaps of
100-220 milli-GPU beside large fractional pods, which only the rare small pods can fill.
Some are forced (a pod of 810 milli-GPU leaves 190 wherever it goes), others are choices:
a pod of 320 put beside one of 470 leaves 210 that nothing common fits, where a fresh GPU
would have kept 680 for a 650 later. Plain best fit makes such choices; FGD scores whole
nodes in coarse integer steps and often does not see the difference.

Each possible leftover r gets a cost, what that GPU is expected to end up wasting:

- A gap of r is *dead* when the pods still to come that could fill it are not enough for
  the gaps already waiting for them. Pods of sizes s..r can only go to gaps of at least s,
  so r is live when, for some s <= r, more pods of sizes s..r are to come than there are
  gaps of s..r now (one more pod than gaps: the new gap needs its own). The pods still to
  come are estimated from the mix seen so far (`arrivalmix`): the free GPU divided by the
  mean GPU asked per pod, times each size's share.
- A dead gap wastes itself. A live gap of r wastes what the gap left by the pod that fills
  it wastes, averaged over the sizes seen that fit in r, weighted by how often each was seen.
- Only pods whose CPU and memory fit what the node keeps can fill a gap: with f the share
  of the pods seen that fit the gap and also fit the node, the gap costs f times its
  expected waste plus (1 - f) times itself. On the Alibaba trace this keeps pairs of
  CPU-hungry pods (12 cores each) off nodes with 12 cores per GPU, where the second half of
  the GPU would be stranded.

A fractional pod goes to the GPU whose leftover costs least. Early on few gaps compete for
the small pods, gaps are live, and the choice weighs the leftovers' futures; as gaps pile up
the smallest die first, and near saturation every gap is dead and the rule is best fit.

Nothing is fitted to a pod list: the sizes, the shares and the number of pods to come are
all learned from the run itself. The score depends on the whole cluster, so the plugin is
not node-local.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from k8s4ai.scheduler import framework, pods, snapshot
from k8s4ai.scheduler.plugins import arrivalmix, selectors

UNFIT = np.iinfo(np.int64).max // 4
FloatMatrix = npt.NDArray[np.float64]


def dead_gaps(snap: snapshot.ClusterSnapshot, mix: arrivalmix.ArrivalMix) -> npt.NDArray[np.bool_]:
    """Whether a new gap of r milli-GPU would be dead, for r in 0..1000 (see the module)."""
    free = snap.gpu_free[snap.gpu_exists]
    gaps = np.bincount(free, minlength=pods.MILLI + 1).astype(np.float64)
    gaps[0] = gaps[pods.MILLI] = 0
    to_come = mix.pods_to_fill(int(free.sum())) * np.diff(mix.share_at_most(), prepend=0.0)
    # Pods of sizes s..r can only go to gaps of at least s, so a gap of r is fed when, for
    # some s <= r, more of them are to come than gaps of s..r already wait for them.
    surplus = np.cumsum(to_come - gaps)
    lowest_before = np.minimum.accumulate(np.concatenate(([0.0], surplus[:-1])))
    dead: npt.NDArray[np.bool_] = surplus - lowest_before < 1
    dead[0] = False
    return dead


def leftover_cost(
    snap: snapshot.ClusterSnapshot, mix: arrivalmix.ArrivalMix
) -> npt.NDArray[np.float64]:
    """Cost of leaving a gap of r milli-GPU on a GPU, for r in 0..1000 (see the module)."""
    return expected_waste(dead_gaps(snap, mix), mix.fractional)


def expected_waste(
    dead: npt.NDArray[np.bool_], sizes: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """What a gap of r ends up wasting when pods arrive in the proportions of `sizes`
    (counts per milli-GPU) and the first that fits fills it: r if it is dead, else the mean
    over the sizes s that fit of what a gap of r - s ends up wasting."""
    waste = np.arange(pods.MILLI + 1, dtype=np.float64)
    present = np.flatnonzero(sizes)
    if not present.size:
        return waste
    weight = sizes[present].astype(np.float64)
    step = int(present[0])
    for start in range(step, pods.MILLI + 1, step):
        r = np.arange(start, min(start + step, pods.MILLI + 1))
        live = r[~dead[r]]
        if not live.size:
            continue
        rest = live[:, None] - present[None, :]
        fits = rest >= 0
        share = np.where(fits, weight, 0.0)
        total = share.sum(axis=1)
        mean = (share * waste[np.maximum(rest, 0)]).sum(axis=1) / np.maximum(total, 1e-12)
        waste[live] = np.where(total > 0, mean, live)
    return waste


class DeadGap:
    """Score and GPU choice for fractional pods by the cost of the gap they leave; other
    pods score 0 everywhere, leaving them to the next plugin."""

    name = "DeadGap"
    node_local = False

    def __init__(self, mix: arrivalmix.ArrivalMix) -> None:
        self.mix = mix
        self._state = (-1, -1)
        self._waste_key: tuple[bytes, int] | None = None
        self._cost = np.arange(pods.MILLI + 1, dtype=np.float64)
        self._last: tuple[tuple[int, int, pods.Shape], snapshot.IntArray, FloatMatrix] | None = None

    def _leftover_cost(self, snap: snapshot.ClusterSnapshot) -> npt.NDArray[np.float64]:
        """`leftover_cost`, computed once per state. Expected waste depends on the mix only
        through its proportions, which settle quickly, so it is recomputed when the dead
        gaps change or the pods seen have doubled since."""
        state = (snap.stamp, len(self.mix))
        if state != self._state:
            self._state = state
            dead = dead_gaps(snap, self.mix)
            key = (np.packbits(dead).tobytes(), len(self.mix).bit_length())
            if key != self._waste_key:
                self._waste_key = key
                self._cost = expected_waste(dead, self.mix.fractional)
        return self._cost

    def _costs(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> npt.NDArray[np.float64]:
        """Per node (rows) and GPU, the cost of the gap the pod leaves there; UNFIT where it
        does not fit. Scoring, narrowing and choosing the GPU ask in turn for one pod."""
        key = (snap.stamp, len(self.mix), pod.shape)
        if self._last is not None and self._last[0] == key and np.array_equal(self._last[1], nodes):
            return self._last[2]
        free = snap.gpu_free[nodes]
        fits = snap.gpu_exists[nodes] & (free >= pod.gpu_milli)
        after = np.where(fits, free - pod.gpu_milli, 0)
        fed = self._fed_share(snap, pod, nodes, after)
        waste = fed * self._leftover_cost(snap)[after] + (1 - fed) * after
        costs: FloatMatrix = np.where(fits, waste, UNFIT)
        self._last = (key, nodes.copy(), costs)
        return costs

    def _fed_share(
        self,
        snap: snapshot.ClusterSnapshot,
        pod: pods.PodRequest,
        nodes: snapshot.IntArray,
        after: snapshot.IntArray,
    ) -> FloatMatrix:
        """Per node and GPU, the share of the fractional pods seen that fit the gap left
        there whose CPU and memory also fit what the node keeps (0 where none fits)."""
        fillers = self.mix.fillers()
        cpu_left = snap.cpu_free[nodes] - pod.cpu_milli
        memory_left = snap.memory_free[nodes] - pod.memory_mib
        room = (fillers.cpu_milli <= cpu_left[:, None]) & (
            fillers.memory_mib <= memory_left[:, None]
        )
        zero = np.zeros((len(nodes), 1))
        fed = np.concatenate((zero, np.cumsum(room * fillers.count, axis=1)), axis=1)
        total = np.concatenate(([0.0], np.cumsum(fillers.count)))
        upto = np.searchsorted(fillers.gpu_milli, after, side="right")
        fitting = total[upto]
        share: FloatMatrix = np.where(
            fitting > 0,
            np.take_along_axis(fed, upto, axis=1) / np.maximum(fitting, 1.0),
            0.0,
        )
        return share

    def cheapest(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> snapshot.BoolArray:
        """Which of `nodes` tie at the lowest cost (all of them, for pods it does not score):
        the only nodes where a plugin breaking its ties can matter."""
        if not pod.is_fractional:
            return np.ones(len(nodes), dtype=bool)
        cheapest = self._costs(snap, pod, nodes).min(axis=1)
        best: snapshot.BoolArray = cheapest <= cheapest.min() + 1e-9
        return best

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        if not pod.is_fractional:
            return np.zeros(len(nodes))
        cheapest = self._costs(snap, pod, nodes).min(axis=1)
        scores: framework.FloatArray = framework.MAX_SCORE * (1 - cheapest / pods.MILLI)
        return scores

    def select(
        self, snap: snapshot.ClusterSnapshot, node: int, pod: pods.PodRequest
    ) -> tuple[int, ...]:
        """The cheapest gap; among equal costs the tightest GPU, then the lowest index."""
        if not pod.is_fractional:
            return selectors.lowest_free(snap, node, pod.num_gpu)
        costs = self._costs(snap, pod, np.array([node]))[0]
        free = snap.gpu_free[node]
        order = np.lexsort((np.arange(len(free)), free, costs))
        return (int(order[0]),)
