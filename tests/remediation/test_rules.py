"""Rule logic on hand-built states: exit-code classes, failure episodes, idle windows."""

from __future__ import annotations

import pytest

from k8s4ai.remediation import state
from k8s4ai.remediation.rules import exit_code, faulty_node, idle


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (1, "Error", False),
        (2, "Error", False),
        (126, "Error", False),
        (127, "Error", False),
        (137, "Error", True),
        (143, "Error", True),
        (139, "Error", True),
        (1, "GPUError", True),
        (None, "NodeLost", True),
        (None, None, None),
    ],
    ids=lambda v: str(v),
)
def test_exit_code_classes(code: int | None, reason: str | None, expected: bool | None) -> None:
    assert exit_code.retryable(code, reason) is expected


def _node_state(times: list[float], jobs: list[str]) -> state.State:
    node = state.Node(state.Ref(state.NODE, "", "n0"), 8, 1e6, "z")
    events = tuple(
        state.Event(t, state.Ref(state.JOB, "a", j), "GPUError", node="n0")
        for t, j in zip(times, jobs, strict=True)
    )
    return state.State(max(times), nodes={node.ref: node}, events=events)


@pytest.mark.parametrize(
    ("times", "jobs", "fires"),
    [
        ([0.0, 3600.0, 7200.0], ["a", "b", "c"], True),
        ([0.0, 1.0, 2.0, 3.0, 4.0], ["a", "b", "c", "d", "e"], False),
        ([0.0, 3600.0, 7200.0], ["a", "a", "a"], False),
        ([0.0, 3600.0], ["a", "b"], False),
        ([0.0, 3600.0, 100_000.0], ["a", "b", "c"], False),
    ],
    ids=["three-episodes", "one-outage-many-jobs", "one-job", "two-episodes", "outside-window"],
)
def test_faulty_node_counts_episodes_of_different_jobs(
    times: list[float], jobs: list[str], fires: bool
) -> None:
    found = list(faulty_node.FaultyNode().detect(_node_state(times, jobs)))
    assert bool(found) is fires


def test_idle_notebook_needs_the_whole_window_under_threshold() -> None:
    rule = idle.IdleNotebook(threshold=0.05, window=3600.0)
    ref = state.Ref(state.JOB, "dev", "nb")

    def at(samples: list[tuple[float, float]]) -> int:
        job = state.Job(
            ref,
            "dev",
            1,
            1.0,
            workload="notebook",
            phase="Running",
            nodes=("n0",),
            utilisation=tuple(samples),
        )
        return len(list(rule.detect(state.State(samples[-1][0], jobs={ref: job}))))

    assert at([(t, 0.0) for t in range(0, 3601, 300)]) == 1
    assert at([(t, 0.0) for t in range(600, 3601, 300)]) == 0
    assert at([(t, 0.3 if t == 1800 else 0.0) for t in range(0, 3601, 300)]) == 0
