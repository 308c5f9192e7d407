"""The discrete-event kernel: events run by (time, priority, sequence), can be cancelled,
and `run(until)` stops before later events."""

from __future__ import annotations

import contextlib

import pytest

from k8s4ai.backends.sim import kernel


def recorder(log: list[tuple[float, str]], label: str) -> kernel.Action:
    def action(k: kernel.Kernel) -> None:
        log.append((k.now, label))

    return action


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param(
            [(3.0, 0, "c"), (1.0, 0, "a"), (2.0, 0, "b")],
            ["a", "b", "c"],
            id="by-time",
        ),
        pytest.param(
            [(1.0, 5, "low"), (1.0, -1, "urgent"), (1.0, 0, "normal")],
            ["urgent", "normal", "low"],
            id="same-time-by-priority",
        ),
        pytest.param(
            [(1.0, 0, "first"), (1.0, 0, "second"), (1.0, 0, "third")],
            ["first", "second", "third"],
            id="same-time-and-priority-by-scheduling-order",
        ),
        pytest.param(
            [(2.0, -9, "later-urgent"), (1.0, 9, "earlier-low"), (1.0, 0, "earlier")],
            ["earlier", "earlier-low", "later-urgent"],
            id="time-before-priority",
        ),
    ],
)
def test_events_run_by_time_priority_then_sequence(
    events: list[tuple[float, int, str]], expected: list[str]
) -> None:
    sim, log = kernel.Kernel(seed=0), []
    for time, priority, label in events:
        sim.at(time, recorder(log, label), priority)
    sim.run()
    assert [label for _, label in log] == expected
    assert sim.processed == len(expected)


def test_an_action_sees_its_own_time_and_can_schedule_more() -> None:
    sim, log = kernel.Kernel(seed=0, start=10.0), []

    def chain(k: kernel.Kernel) -> None:
        log.append((k.now, "chain"))
        k.after(2.5, recorder(log, "follow-up"))
        k.after(0.0, recorder(log, "now"))

    sim.after(1.0, chain)
    sim.at(12.0, recorder(log, "fixed"))
    sim.run()
    # follow-up at 13.5; "now" at 11.0 runs before the fixed 12.0 event.
    assert log == [(11.0, "chain"), (11.0, "now"), (12.0, "fixed"), (13.5, "follow-up")]


def test_cancelled_events_do_not_run() -> None:
    sim, log = kernel.Kernel(seed=0), []
    sim.at(1.0, recorder(log, "a"))
    doomed = sim.at(2.0, recorder(log, "b"))
    sim.at(3.0, recorder(log, "c"))
    doomed.cancel()
    assert len(sim) == 2
    sim.run()
    assert (log, sim.processed) == ([(1.0, "a"), (3.0, "c")], 2)


def test_an_action_can_cancel_a_later_event() -> None:
    sim, log = kernel.Kernel(seed=0), []
    later = sim.at(5.0, recorder(log, "completion"))
    sim.at(2.0, lambda k: later.cancel())
    sim.run()
    assert log == []


def test_run_until_stops_before_later_events_and_resumes() -> None:
    sim, log = kernel.Kernel(seed=0), []
    for t in (1.0, 2.0, 5.0, 7.0):
        sim.at(t, recorder(log, f"t{t:g}"))
    sim.run(until=2.0)  # an event exactly at `until` still runs
    assert (log, sim.now, len(sim)) == ([(1.0, "t1"), (2.0, "t2")], 2.0, 2)
    sim.run(until=6.0)
    assert (log[-1], sim.now, len(sim)) == ((5.0, "t5"), 6.0, 1)
    sim.run()
    assert (log[-1], sim.now, len(sim)) == ((7.0, "t7"), 7.0, 0)


def test_run_until_skips_over_a_cancelled_head() -> None:
    sim, log = kernel.Kernel(seed=0), []
    sim.at(1.0, recorder(log, "a")).cancel()
    sim.at(3.0, recorder(log, "b"))
    sim.run(until=2.0)
    assert (log, sim.now) == ([], 2.0)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        pytest.param(
            lambda k: k.at(4.0, lambda _: None),
            "cannot schedule at 4.0: the clock is already at 5.0",
            id="at",
        ),
        pytest.param(
            lambda k: k.after(-1.0, lambda _: None),
            "cannot schedule at 4.0: the clock is already at 5.0",
            id="negative-delay",
        ),
    ],
)
def test_scheduling_in_the_past_raises(schedule: kernel.Action, message: str) -> None:
    sim = kernel.Kernel(seed=0)
    sim.at(5.0, lambda _: None)
    sim.run()
    with pytest.raises(ValueError) as err:
        schedule(sim)
    assert str(err.value) == message


def test_the_generator_is_seeded() -> None:
    assert kernel.Kernel(seed=3).rng.random() == kernel.Kernel(seed=3).rng.random()
    assert kernel.Kernel(seed=3).rng.random() != kernel.Kernel(seed=4).rng.random()



def test_run_until_leaves_the_clock_at_until() -> None:
    sim = kernel.Kernel(seed=0)
    sim.at(1.0, lambda _: None)
    sim.run(until=10.0)
    assert sim.now == 10.0



def test_run_until_never_moves_the_clock_back() -> None:
    sim = kernel.Kernel(seed=0)
    sim.at(5.0, lambda _: None)
    sim.at(9.0, lambda _: None)
    sim.run(until=6.0)
    with contextlib.suppress(ValueError):  # refusing is as good as staying put
        sim.run(until=2.0)
    assert sim.now == 6.0
