"""A running attempt's progress, checkpoints and end, computed from its status alone."""

import pytest

from k8s4ai.backends.sim import live_progress

RUN = live_progress.Attempt(since=100.0, progress=0.0, rate=0.01, interval=30.0, stall=5.0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(50.0, live_progress.Outcome(0.0), id="not-started-yet"),
        pytest.param(120.0, live_progress.Outcome(0.2), id="before-first-checkpoint"),
        pytest.param(132.0, live_progress.Outcome(0.3, (130.0, 0.3)), id="stalled-while-saving"),
        pytest.param(145.0, live_progress.Outcome(0.4, (130.0, 0.3)), id="after-the-stall"),
        pytest.param(
            300.0, live_progress.Outcome(1.0, (200.0, 0.9), finished=215.0), id="finished"
        ),
    ],
)
def test_progress_grows_stalls_for_checkpoints_and_finishes(
    now: float, expected: live_progress.Outcome
) -> None:
    got = live_progress.advance(RUN, now)
    assert got.progress == pytest.approx(expected.progress)
    assert got.checkpoint == (pytest.approx(expected.checkpoint) if expected.checkpoint else None)
    assert got.finished == (pytest.approx(expected.finished) if expected.finished else None)


def test_a_coarse_step_and_fine_steps_agree() -> None:
    coarse = live_progress.advance(RUN, 200.0)
    since, progress = RUN.since, RUN.progress
    for now in range(100, 201, 7):
        step = live_progress.advance(
            live_progress.Attempt(since, progress, RUN.rate, RUN.interval, RUN.stall), float(now)
        )
        if step.checkpoint is not None:
            since, progress = step.checkpoint[0] + RUN.stall, step.checkpoint[1]
    final = live_progress.advance(
        live_progress.Attempt(since, progress, RUN.rate, RUN.interval, RUN.stall), 200.0
    )
    assert final.progress == pytest.approx(coarse.progress)


def test_a_failure_stops_the_attempt_when_its_fate_says() -> None:
    got = live_progress.advance(RUN, 500.0, fail_time=155.0)
    assert got.failed == 155.0
    assert got.progress == pytest.approx(0.5) and got.finished is None
    assert got.checkpoint == (pytest.approx(130.0), pytest.approx(0.3))


def test_no_checkpoint_without_interval() -> None:
    run = live_progress.Attempt(since=0.0, progress=0.25, rate=0.5, interval=None, stall=0.0)
    assert live_progress.advance(run, 1.0) == live_progress.Outcome(0.75)
    assert live_progress.advance(run, 2.0) == live_progress.Outcome(1.0, finished=1.5)
