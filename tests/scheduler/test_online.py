"""Learning from the run (plugins/arrivalmix, plugins/online): the mix of pods seen, the
observer that fills it, the per-shape score cache, and FGD with typical pods from the mix."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.scheduler import framework, pods, snapshot
from k8s4ai.scheduler.plugins import arrivalmix, fgd, online
from tests.scheduler.builders import at, cluster, everywhere, node, pod, put, used


def test_the_mix_counts_pods_gpu_and_fractional_sizes() -> None:
    mix = arrivalmix.ArrivalMix()
    for p in (pod(gpu=0.25), pod(gpu=0.25), pod(gpu=0.5), pod(gpus=2), pod(cpu=4000)):
        mix.observe(p)
    assert (len(mix), mix.gpu_milli) == (5, 3000)
    share = mix.share_at_most()
    assert (share[249], share[250], share[500], share[1000]) == (0.0, 0.4, 0.6, 0.6)
    # 3000 milli in 5 pods: 600 a pod, so 1200 milli free is 2 more pods.
    assert mix.pods_to_fill(1200) == pytest.approx(2.0)


def test_an_empty_mix_expects_endless_pods_for_free_gpu_and_none_for_none() -> None:
    mix = arrivalmix.ArrivalMix()
    assert (mix.pods_to_fill(1000), mix.pods_to_fill(0)) == (float("inf"), 0.0)
    assert not mix.share_at_most().any()


def test_observe_records_each_pod_it_scores_and_scores_zero() -> None:
    mix = arrivalmix.ArrivalMix()
    snap = cluster(node("a", gpus=2), node("b", gpus=2))
    observer = online.Observe(mix)
    assert list(observer.score(snap, pod(gpu=0.5), everywhere(snap))) == [0.0, 0.0]
    assert mix.seen == [pod(gpu=0.5)]


class Counting:
    """A node-local score plugin that records which nodes it was asked about."""

    name = "Counting"
    node_local = True

    def __init__(self) -> None:
        self.asked: list[list[int]] = []

    def score(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> framework.FloatArray:
        self.asked.append([int(n) for n in nodes])
        return snap.gpu_left_on(nodes).astype(np.float64)


def test_stamped_recomputes_only_nodes_changed_since_the_shape_was_last_scored() -> None:
    snap = cluster(node("a", gpus=2), node("b", gpus=2), node("c", gpus=2))
    inner = Counting()
    cached = online.Stamped(inner)
    p = pod(gpu=0.5)
    assert list(cached.score(snap, p, everywhere(snap))) == [2000, 2000, 2000]
    put(snap, "b", pod(gpu=0.5), (0,))
    assert list(cached.score(snap, p, np.array([at(snap, "b"), at(snap, "c")]))) == [1500, 2000]
    assert list(cached.score(snap, pod(gpu=0.3), np.array([0]))) == [2000]
    assert inner.asked == [[0, 1, 2], [1], [0]]  # only nodes asked for, stale or new


class Favourite:
    """Ranks node 1 cheapest, as DeadGap ranks the nodes where a gap is least wasted."""

    def cheapest(
        self, snap: snapshot.ClusterSnapshot, pod: pods.PodRequest, nodes: snapshot.IntArray
    ) -> snapshot.BoolArray:
        best: snapshot.BoolArray = nodes == 1
        return best


def test_online_fgd_given_a_plugin_to_break_ties_for_scores_only_its_best_nodes() -> None:
    mix = arrivalmix.ArrivalMix()
    mix.observe(pod(gpu=0.5))
    snap = used(cluster(node("a", gpus=2), node("b", gpus=2), node("c", gpus=2)), "b", 500)
    full = online.OnlineFgd(mix, snap.models).score(snap, pod(gpu=0.5), everywhere(snap))
    narrowed = online.OnlineFgd(mix, snap.models, among=Favourite())
    assert list(narrowed.score(snap, pod(gpu=0.5), everywhere(snap))) == [0.0, full[1], 0.0]


def test_online_fgd_scores_as_fgd_with_the_pods_seen_as_its_workload() -> None:
    seen = [pod(cpu=1000, gpu=0.5)] * 3 + [pod(cpu=2000, gpus=1)] * 2 + [pod(cpu=4000)]
    mix = arrivalmix.ArrivalMix()
    for p in seen:
        mix.observe(p)
    snap = used(cluster(node("a", gpus=2), node("b", gpus=4), node("c", gpus=1)), "a", 500)
    learned = online.OnlineFgd(mix, snap.models)
    published = fgd.FragmentationGradient(fgd.TypicalPods.from_workload(seen, snap.models))
    for p in (pod(gpu=0.5), pod(gpus=1), pod(cpu=4000)):
        assert list(learned.score(snap, p, everywhere(snap))) == list(
            published.score(snap, p, everywhere(snap))
        )


def test_online_fgd_relearns_its_typical_pods_when_the_pods_seen_double() -> None:
    mix = arrivalmix.ArrivalMix()
    mix.observe(pod(gpus=1))
    snap = used(cluster(node("a", gpus=2), node("b", gpus=2)), "a", 300)
    learned = online.OnlineFgd(mix, snap.models)
    p = pod(gpu=0.7)
    before = list(learned.score(snap, p, everywhere(snap)))
    for _ in range(3):  # now mostly pods of 700, which fit only beside nothing or 300
        mix.observe(p)
    after = list(learned.score(snap, p, everywhere(snap)))
    only_seen = fgd.FragmentationGradient(fgd.TypicalPods.from_workload(mix.seen, snap.models))
    assert after == list(only_seen.score(snap, p, everywhere(snap)))
    assert after != before


def test_stamped_scores_match_the_plugin_after_placements_and_departures() -> None:
    rng = np.random.default_rng(3)
    snap = cluster(*(node(f"n{i}", gpus=4, cpu=32_000) for i in range(6)))
    typical = fgd.TypicalPods.from_workload([pod(gpu=0.5), pod(gpus=1)], snap.models)
    plain = fgd.FragmentationGradient(typical)
    cached = online.Stamped(fgd.FragmentationGradient(typical))
    shapes = [pod(gpu=0.25), pod(gpu=0.5), pod(cpu=4000, gpus=1), pod(gpus=2)]
    running: list[tuple[int, pods.PodRequest, tuple[int, ...]]] = []
    for _ in range(300):
        if running and rng.random() < 0.4:
            snap.release(*running.pop(int(rng.integers(len(running)))))
        p = shapes[int(rng.integers(len(shapes)))]
        asked = np.flatnonzero(rng.random(len(snap)) < 0.7)
        assert list(cached.score(snap, p, asked)) == list(plain.score(snap, p, asked))
        room = (snap.cpu_free >= p.cpu_milli) & (snap.memory_free >= p.memory_mib)
        fits = np.flatnonzero(room & ((snap.gpu_free >= p.gpu_milli).sum(axis=1) >= p.num_gpu))
        if fits.size:
            where = int(fits[int(rng.integers(fits.size))])
            gpus = plain.select(snap, where, p)
            snap.assign(where, p, gpus)
            running.append((where, p, gpus))
