"""Runs spread over processes give the same results, in the same order, as runs in this
process, and progress ends at every run finished."""

import numpy as np
import pytest

from k8s4ai.backends.sim import sweep
from k8s4ai.traces import synthetic as traces


@pytest.fixture(scope="module")
def workloads() -> list[sweep.Workload]:
    rng = np.random.default_rng(3)
    nodes = tuple(traces.nodes(15, rng))
    return [
        sweep.Workload(name, nodes, tuple(traces.pod_list(120, rng))) for name in ("a", "b")
    ]


def test_processes_match_one_process(workloads: list[sweep.Workload]) -> None:
    jobs = sweep.plan(["a", "b"], ["bestfit", "fgd"], [1, 2])
    seen: list[sweep.Progress] = []
    parallel = sweep.run_many(workloads, jobs, workers=2, on_progress=seen.append)
    serial = sweep.run_many(workloads, jobs, workers=1)
    assert [r.job for r in parallel] == jobs
    assert [(r.job, r.run.curve, r.run.failed) for r in parallel] == [
        (r.job, r.run.curve, r.run.failed) for r in serial
    ]
    finished = [p for p in seen if p.result is not None]
    assert [p.finished for p in finished] == list(range(1, len(jobs) + 1))
    assert seen[-1].fraction == pytest.approx(1.0)
    assert all(0 <= p.fraction <= 1 for p in seen)


def test_means_per_workload_and_policy(workloads: list[sweep.Workload]) -> None:
    results = sweep.run_many(workloads, sweep.plan(["a"], ["random", "fgd"], [1, 2, 3]))
    summaries = sweep.summarise(results)
    assert [(s.workload, s.policy, s.seeds) for s in summaries] == [
        ("a", "random", (1, 2, 3)),
        ("a", "fgd", (1, 2, 3)),
    ]
    fgd = [r.run for r in results if r.job.policy == "fgd"]
    assert summaries[1].allocation == pytest.approx(np.mean([r.final_allocation for r in fgd]))
    assert summaries[1].attempts == sum(r.pods for r in fgd)
    assert summaries[1].curve[130] == pytest.approx(
        np.mean([r.curve[130] for r in fgd]), abs=0.01
    )


def test_unknown_names_fail_before_anything_runs(workloads: list[sweep.Workload]) -> None:
    with pytest.raises(ValueError, match="no workload named 'c'"):
        sweep.run_many(workloads, sweep.plan(["c"], ["fgd"], [1]))
    with pytest.raises(LookupError, match="unknown policy 'tetris'"):
        sweep.run_many(workloads, sweep.plan(["a"], ["tetris"], [1]), workers=2)
