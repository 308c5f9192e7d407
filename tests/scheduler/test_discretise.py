"""fragmentation.discretise (R4.2): allocation % per whole arrived %, the mean of the events
that round to it (half to even), else of those within one point, to two decimals."""

from __future__ import annotations

from k8s4ai.backends.sim import fragmentation


def test_discretise_by_hand() -> None:
    # Capacity 3000 milli: arrived % = a/30, allocated % = u/30 rounded to 2 decimals.
    samples = [
        (0, 0),  # 0%, 0.0
        (30, 10),  # 1%, 0.33
        (90, 20),  # 3%, 0.67
        (93, 20),  # 3.1 → 3, 0.67
        (105, 50),  # 3.5 → 4 (half to even), 1.67
        (135, 50),  # 4.5 → 4 (half to even), 1.67
    ]
    assert fragmentation.discretise(samples, 3000) == {
        0: 0.0,
        1: 0.33,
        2: 0.56,  # no event at 2: neighbours 1..3 → (0.33 + 0.67 + 0.67) / 3 = 0.5567
        3: 0.67,
        4: 1.67,
        5: 1.67,  # no event at 5: neighbours 4..6 → 1.67
        # 6: no event within 5..7 → no column
    }


def test_discretise_stops_at_130_percent() -> None:
    samples = [(1290, 1000), (1300, 1000), (1310, 1000), (1400, 1000)]
    # Capacity 1000: 129%, 130%, 131%, 140%; 128 borrows from 129; 131 and up are dropped.
    assert fragmentation.discretise(samples, 1000) == {128: 100.0, 129: 100.0, 130: 100.0}
