"""A replayed job's held runs are what the cluster held: cost accounting charges them."""

import itertools

import pytest

from k8s4ai.backends.sim import jobs
from k8s4ai.cli import job_traces
from k8s4ai.scheduler.admission import policies
from k8s4ai.traces import catalog


def test_held_runs_add_up_to_the_allocated_gpu_time() -> None:
    trace = catalog.load("synthetic-itp-cluster02", None, seed=3, synthetic_count=400)
    sizing = catalog.size(trace.jobs, load=1.5)
    scenario = job_traces.scenario(trace, sizing)
    result = jobs.replay(
        scenario.jobs, scenario.cluster, scenario.queues, policies.get("k8s4ai"),
        checkpointing=job_traces.checkpointing(60, 60, 1800),
    )
    assert sum(o.preemptions for o in result.outcomes) > 0
    for o in result.outcomes:
        assert len(o.held) == o.preemptions + 1
        assert o.submit <= o.held[0][0] <= o.first_start and o.held[-1][1] == o.finish
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(o.held))
    held = sum(o.gpus * (end - start) for o in result.outcomes for start, end in o.held)
    steps = result.allocated
    allocated = sum(g * (t1 - t0) for (t0, g), (t1, _) in itertools.pairwise(steps))
    # `allocated` counts a victim's GPUs free from its preemption; it holds them for the
    # checkpoint write (60 s) after it.
    draining = sum(o.gpus * o.preemptions * 60 for o in result.outcomes)
    assert held == pytest.approx(allocated + draining, rel=1e-9)
