"""The topology replay: a gang runs its trace duration where it fits its smallest feasible
domain and longer, by the communication model, where it does not; `required` waits for room
there, `preferred` goes a level up at once."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.backends.sim import communication, topology_replay
from k8s4ai.backends.sim.jobs import ReplayJob

FABRIC = topology_replay.Fabric(blocks=2, racks_per_block=2, nodes_per_rack=2)
"""8 nodes of 8 GPUs: racks of 2 nodes, blocks of 2 racks."""


def fragmented_rack_trace() -> list[ReplayJob]:
    """Eight one-node jobs fill the cluster in topology order; those on nodes 0 and 2 (two
    racks of block b0) end at t=10, the rest at t=1000; a 16-GPU job arrives at t=20."""
    ends = [10.0, 1000.0, 10.0, 1000.0, 1000.0, 1000.0, 1000.0, 1000.0]
    fill = [ReplayJob(f"fill-{i}", 0.0, end, 8) for i, end in enumerate(ends)]
    return [*fill, ReplayJob("wide", 20.0, 500.0, 16)]


def by_name(result: topology_replay.Result) -> dict[str, topology_replay.Outcome]:
    return {o.name: o for o in result.outcomes}


def test_required_waits_for_a_whole_rack() -> None:
    wide = by_name(topology_replay.replay(fragmented_rack_trace(), FABRIC, "required"))["wide"]
    assert (wide.start, wide.level, wide.ideal, wide.stretch) == (1000.0, "rack", "rack", 1.0)
    assert wide.finish == 1500.0 and wide.smallest


def test_preferred_spans_two_racks_at_once_and_runs_longer() -> None:
    wide = by_name(topology_replay.replay(fragmented_rack_trace(), FABRIC, "preferred"))["wide"]
    stretch = communication.Training().stretch(16, FABRIC.block_gbps, FABRIC.rack_gbps)
    assert (wide.start, wide.level, wide.ideal) == (20.0, "block", "rack")
    assert wide.stretch == pytest.approx(stretch) and stretch > 1.05
    assert wide.finish == pytest.approx(20.0 + 500.0 * stretch) and not wide.smallest


def test_one_node_jobs_are_always_in_their_smallest_domain() -> None:
    for placer in topology_replay.PLACERS:
        result = topology_replay.replay(fragmented_rack_trace(), FABRIC, placer)
        fills = [o for o in result.outcomes if o.name.startswith("fill-")]
        assert all(o.level == o.ideal == "nvlink" and o.stretch == 1.0 for o in fills)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blind_runs_each_job_as_long_as_its_placement_costs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    trace = [
        ReplayJob(f"j{i}", float(rng.uniform(0, 3600)), float(rng.uniform(60, 7200)), gpus)
        for i, gpus in enumerate(rng.choice([1, 4, 8, 16, 24, 32], size=40))
    ]
    result = topology_replay.replay(trace, FABRIC, "blind", seed=seed, reference=16)
    assert len(result.outcomes) == 40 and not result.unfinished
    for o in result.outcomes:
        assert o.finish - o.start == pytest.approx(o.duration * o.stretch)
        assert o.stretch >= 1.0 and (o.stretch == 1.0) == (o.level == o.ideal or o.gpus == 1)
    assert 0.0 <= result.stranded <= result.free <= FABRIC.gpus


def test_stranded_gpus_count_room_no_rack_can_use() -> None:
    """Between t=10 and t=1000 two free nodes sit in two racks: both are stranded for a
    16-GPU gang under `required` (the wide job waits), so most of the span has 16."""
    result = topology_replay.replay(fragmented_rack_trace(), FABRIC, "required", reference=16)
    assert result.reference == 16
    # The arrival span is [0, 20]: from 10 to 20 the 16 free GPUs are all stranded.
    assert result.free == pytest.approx(8.0)
    assert result.stranded == pytest.approx(8.0)


def test_jobs_larger_than_the_cluster_are_skipped() -> None:
    trace = [ReplayJob("huge", 0.0, 10.0, FABRIC.gpus + 1), ReplayJob("ok", 0.0, 10.0, 8)]
    result = topology_replay.replay(trace, FABRIC, "required")
    assert result.skipped == ("huge",) and [o.name for o in result.outcomes] == ["ok"]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown placer 'random'"):
        topology_replay.replay([], FABRIC, "random")
    with pytest.raises(ValueError, match="preempts"):
        topology_replay.replay([], FABRIC, "required", policy="srpt")
    with pytest.raises(ValueError, match="reference gang"):
        topology_replay.replay([], FABRIC, "required", reference=FABRIC.gpus + 1)
    with pytest.raises(ValueError, match="at least one block"):
        topology_replay.Fabric(blocks=0)
