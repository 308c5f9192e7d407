"""Rule logic on hand-built states: failure episodes, idle windows."""

from __future__ import annotations

import pytest

from k8s4ai.remediation import plan, state
from k8s4ai.remediation.rules import faulty_node, idle


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


def _crash(t: float, job: str, code: int, reason: str = "Error") -> state.Event:
    return state.Event(t, state.Ref(state.JOB, "a", job), reason, node="n0", exit_code=code)


@pytest.mark.parametrize(
    ("events", "fires"),
    [
        ([_crash(0.0, "a", 0, "GPUError"), _crash(3600.0, "b", 135), _crash(7200.0, "c", 139)],
         True),
        ([_crash(0.0, "a", 139), _crash(3600.0, "b", 135), _crash(7200.0, "c", 134)], False),
        ([_crash(0.0, "a", 0, "GPUError"), _crash(3600.0, "b", 1), _crash(7200.0, "c", 143)],
         False),
    ],
    ids=["gpu-error-and-two-signal-crashes", "signal-crashes-only", "other-exits-do-not-count"],
)  # fmt: skip
def test_faulty_node_counts_signal_crashes_only_beside_a_hardware_event(
    events: list[state.Event], fires: bool
) -> None:
    node = state.Node(state.Ref(state.NODE, "", "n0"), 8, 1e6, "z")
    now = state.State(7200.0, nodes={node.ref: node}, events=tuple(events))
    assert bool(list(faulty_node.FaultyNode().detect(now))) is fires


@pytest.mark.parametrize(
    ("events", "certainty"),
    [
        ([_crash(0.0, "a", 0, "GPUError"), _crash(3600.0, "b", 0, "GPUError"),
          _crash(7200.0, "c", 0, "NodeLost")], plan.Certainty.CERTAIN),
        ([_crash(0.0, "a", 0, "GPUError"), _crash(3600.0, "b", 135), _crash(7200.0, "c", 139)],
         plan.Certainty.SUSPECTED),
        ([_crash(0.0, "a", 0, "GPUError"), _crash(3600.0, "b", 0, "GPUError"),
          _crash(7200.0, "c", 139)], plan.Certainty.SUSPECTED),
    ],
    ids=["hardware-events-alone", "one-event-two-signal-crashes", "two-events-one-crash"],
)  # fmt: skip
def test_faulty_node_is_certain_only_on_hardware_events_alone(
    events: list[state.Event], certainty: plan.Certainty
) -> None:
    node = state.Node(state.Ref(state.NODE, "", "n0"), 8, 1e6, "z")
    now = state.State(7200.0, nodes={node.ref: node}, events=tuple(events))
    (found,) = faulty_node.FaultyNode().detect(now)
    assert found.plan is not None and found.plan.certainty is certainty
    assert ("self-raised signal" in found.plan.doubt) is (certainty is plan.Certainty.SUSPECTED)
