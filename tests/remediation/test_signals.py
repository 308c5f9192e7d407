"""Exit codes classified by who sent the signal, and the hardware evidence that turns a
self-raised signal into a retryable failure."""

from __future__ import annotations

import pytest

from k8s4ai.remediation import plan, state
from k8s4ai.remediation.rules import exit_code, signals

HOUR = 3600.0
Cause = signals.Cause


@pytest.mark.parametrize(
    ("code", "reason", "cause", "plain", "on_bad_hardware"),
    [
        (1, "Error", Cause.PROGRAM, False, False),
        (2, "Error", Cause.PROGRAM, False, False),
        (126, "Error", Cause.PROGRAM, False, False),
        (127, "Error", Cause.PROGRAM, False, False),
        (129, "Error", Cause.EXTERNAL, True, True),
        (130, "Error", Cause.EXTERNAL, True, True),
        (137, "Error", Cause.EXTERNAL, True, True),
        (143, "Error", Cause.EXTERNAL, True, True),
        (132, "Error", Cause.SELF_SIGNAL, False, True),
        (134, "Error", Cause.SELF_SIGNAL, False, True),
        (135, "Error", Cause.SELF_SIGNAL, False, True),
        (136, "Error", Cause.SELF_SIGNAL, False, True),
        (139, "Error", Cause.SELF_SIGNAL, False, True),
        (141, "Error", Cause.UNKNOWN, None, None),
        (0, "Error", Cause.UNKNOWN, None, None),
        (300, "Error", Cause.UNKNOWN, None, None),
        (None, None, Cause.UNKNOWN, None, None),
        (1, "GPUError", Cause.PLATFORM, True, True),
        (139, "Evicted", Cause.PLATFORM, True, True),
        (None, "NodeLost", Cause.PLATFORM, True, True),
    ],
    ids=lambda v: str(getattr(v, "name", v)),
)
def test_classification_table(
    code: int | None,
    reason: str | None,
    cause: signals.Cause,
    plain: bool | None,
    on_bad_hardware: bool | None,
) -> None:
    assert signals.cause(code, reason) is cause
    assert exit_code.retryable(code, reason) is plain
    assert exit_code.retryable(code, reason, hardware=True) is on_bad_hardware


FAILED_AT = 100 * HOUR


def _failed(name: str, code: int, node: str = "n0", at: float = FAILED_AT) -> state.Job:
    return state.Job(
        state.Ref(state.JOB, "a", name),
        "q",
        8,
        1024.0,
        phase="Failed",
        reason="Error",
        exit_code=code,
        failed_on=(node,),
        failed_at=at,
    )


def _state(jobs: list[state.Job], events: list[state.Event], ready: bool) -> state.State:
    nodes = {
        n.ref: n
        for n in (
            state.Node(state.Ref(state.NODE, "", "n0"), 8, 1e6, "z", ready=ready),
            state.Node(state.Ref(state.NODE, "", "n1"), 8, 1e6, "z"),
        )
    }
    return state.State(FAILED_AT + 60, {j.ref: j for j in jobs}, nodes, events=tuple(events))


def _gpu_error(at: float, node: str = "n0") -> state.Event:
    return state.Event(at, state.Ref(state.JOB, "a", "other"), "GPUError", node=node)


@pytest.mark.parametrize(
    ("jobs", "events", "ready", "restarted"),
    [
        ([_failed("seg", 139)], [], True, False),
        ([_failed("seg", 139)], [_gpu_error(FAILED_AT - HOUR)], True, True),
        ([_failed("seg", 139)], [_gpu_error(FAILED_AT - HOUR, node="n1")], True, False),
        ([_failed("seg", 139)], [_gpu_error(FAILED_AT - 30 * HOUR)], True, False),
        ([_failed("seg", 139)], [], False, True),
        ([_failed("seg", 139), _failed("bus", 135, at=FAILED_AT - HOUR)], [], True, False),
        (
            [_failed("seg", 139), _failed("bus", 135), _failed("abrt", 134, at=FAILED_AT - HOUR)],
            [],
            True,
            True,
        ),
        ([_failed("seg", 139), _failed("err", 1, at=FAILED_AT - HOUR)], [], True, False),
        ([_failed("seg", 139), _failed("bus", 135, node="n1")], [], True, False),
        ([_failed("term", 143)], [], True, True),
        ([_failed("exit", 1)], [_gpu_error(FAILED_AT - HOUR)], True, False),
    ],
    ids=[
        "segfault-clean-node",
        "segfault-after-gpu-error",
        "gpu-error-on-another-node",
        "gpu-error-outside-window",
        "segfault-node-not-ready",
        "one-other-sigbus-same-node",
        "two-other-signal-crashes-same-node",
        "another-job-exit-1-same-node",
        "another-job-sigbus-other-node",
        "sigterm-always",
        "exit-1-never-even-on-bad-node",
    ],
)
def test_failed_job_restarts_a_self_signal_only_with_hardware_evidence(
    jobs: list[state.Job], events: list[state.Event], ready: bool, restarted: bool
) -> None:
    now = _state(jobs, events, ready)
    found = {d.finding.subject.name: d for d in exit_code.FailedJob().detect(now)}
    first = found[jobs[0].ref.name]
    assert (first.plan is not None) is restarted
    if jobs[0].exit_code == 139:
        evidence = dict(first.finding.evidence)
        assert ("hardware evidence" in evidence) is restarted
        assert "SIGSEGV" in first.finding.explanation


@pytest.mark.parametrize(
    ("jobs", "events", "ready", "certainty", "doubt"),
    [
        ([_failed("seg", 139)], [_gpu_error(FAILED_AT)], True, plan.Certainty.CERTAIN, ""),
        ([_failed("seg", 139)], [_gpu_error(FAILED_AT - HOUR)], True, plan.Certainty.SUSPECTED,
         "earlier trouble on the node"),
        ([_failed("seg", 139)], [], False, plan.Certainty.SUSPECTED, "earlier trouble"),
        ([_failed("seg", 139), _failed("bus", 135), _failed("abrt", 134, at=FAILED_AT - HOUR)],
         [], True, plan.Certainty.SUSPECTED, "only from other crashes on the node"),
        ([_failed("seg", 139), _failed("bus", 135), _failed("abrt", 134, at=FAILED_AT - HOUR)],
         [_gpu_error(FAILED_AT + 30)], True, plan.Certainty.CERTAIN, ""),
        ([_failed("term", 143)], [], True, plan.Certainty.CERTAIN, ""),
    ],
    ids=[
        "gpu-error-at-the-failure",
        "gpu-error-an-hour-before",
        "node-not-ready",
        "only-other-crashes",
        "other-crashes-and-a-gpu-error-at-the-failure",
        "sigterm",
    ],
)  # fmt: skip
def test_failed_job_marks_a_restart_on_circumstantial_evidence_suspected(
    jobs: list[state.Job],
    events: list[state.Event],
    ready: bool,
    certainty: plan.Certainty,
    doubt: str,
) -> None:
    now = _state(jobs, events, ready)
    found = {d.finding.subject.name: d for d in exit_code.FailedJob().detect(now)}
    made = found[jobs[0].ref.name].plan
    assert made is not None and made.certainty is certainty
    if certainty is plan.Certainty.SUSPECTED:
        assert doubt in made.doubt and "SIGSEGV is self-raised" in made.doubt
        assert "no hardware event at the failure itself" in made.doubt
        assert "suspected" in made.finding.explanation
    else:
        assert made.doubt == ""
