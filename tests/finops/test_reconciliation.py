"""For any ledger, window and aggregation, the report adds up to the bill to the cent, and
every line is within a cent of the exact (rational) cost it stands for."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from k8s4ai.finops import allocation, ledger, pricing
from tests.finops.builders import A100, CPU, H100, H100_SPOT, MEMORY, SSD

RATES = (H100, H100_SPOT, A100, CPU, MEMORY, SSD)
LABELS = ("team", "experiment", "model")
AMOUNTS = (1.0, 0.5, 0.25, 1 / 7, 3 / 7, 2.0, 8.0, 0.3)
MINUTE = 60.0

prices = st.sampled_from((0.0, 0.013, 0.8, 1.79, 2.99, 4.0))
times = st.integers(min_value=0, max_value=48 * 60)


@st.composite
def books(draw: st.DrawFn) -> pricing.PriceBook:
    book = pricing.PriceBook()
    for rate in RATES:
        book = book.with_price(rate, draw(prices))
        for minute in sorted(draw(st.sets(times, max_size=2))):
            book = book.with_price(rate, draw(prices), since=minute * MINUTE)
    return book


@st.composite
def rows(draw: st.DrawFn, amounts: tuple[float, ...], labelled: bool
         ) -> tuple[pricing.RateKey, float, float, float, dict[str, str]]:
    a, b = sorted((draw(times), draw(times)))
    labels = {}
    if labelled:
        for name in draw(st.sets(st.sampled_from(LABELS))):
            labels[name] = draw(st.sampled_from(("x", "y", "z")))
    return draw(st.sampled_from(RATES)), draw(st.sampled_from(amounts)), a * MINUTE, \
        b * MINUTE, labels


def build(items: list[tuple[pricing.RateKey, float, float, float, dict[str, str]]]
          ) -> ledger.Intervals:
    builder = ledger.IntervalsBuilder()
    for rate, amount, start, end, labels in items:
        builder.add(start, end, rate, amount, labels)
    return builder.build()


def exact_cost(schedule: pricing.PriceSchedule, amount: float, start: float, end: float
               ) -> Fraction:
    if end <= start:
        return Fraction(0)
    bounds = [start, *(c for c in schedule.changes if start < c < end), end]
    total = sum(
        (Fraction(schedule.at(a)) * (Fraction(b) - Fraction(a)) for a, b in pairwise(bounds)),
        Fraction(0),
    )
    return Fraction(amount) * total / 3600


def within_a_cent(cents: int, dollars: Fraction) -> bool:
    return abs(Fraction(cents) - dollars * 100) < 1


@settings(max_examples=150, deadline=None)
@given(
    book=books(),
    assets=st.lists(rows((1.0, 2.0, 8.0), labelled=False), max_size=6),
    allocations=st.lists(rows(AMOUNTS, labelled=True), max_size=25),
    window=st.tuples(st.integers(-60, 48 * 60), st.integers(1, 50 * 60)),
    aggregate=st.lists(st.sampled_from(LABELS), min_size=1, max_size=3, unique=True),
    share_idle=st.booleans(),
)
def test_lines_add_up_to_the_bill(
    book: pricing.PriceBook,
    assets: list[tuple[pricing.RateKey, float, float, float, dict[str, str]]],
    allocations: list[tuple[pricing.RateKey, float, float, float, dict[str, str]]],
    window: tuple[int, int],
    aggregate: list[str],
    share_idle: bool,
) -> None:
    w0, w1 = window[0] * MINUTE, (window[0] + window[1]) * MINUTE
    report = allocation.allocate(
        ledger.Ledger(build(allocations), build(assets)), book, allocation.Window(w0, w1),
        aggregate, share_idle,
    )

    def clipped(row: tuple[pricing.RateKey, float, float, float, dict[str, str]]) -> Fraction:
        rate, amount, start, end, _ = row
        return exact_cost(book.schedule(rate), amount, max(start, w0), min(end, w1))

    bill: dict[pricing.RateKey, Fraction] = defaultdict(Fraction)
    for row in assets:
        bill[row[0]] += clipped(row)
    held: dict[tuple[str, ...], dict[pricing.RateKey, Fraction]] = defaultdict(
        lambda: defaultdict(Fraction)
    )
    for row in allocations:
        if max(row[2], w0) < min(row[3], w1):
            key = tuple(row[4].get(n, allocation.UNALLOCATED) for n in aggregate)
            held[key][row[0]] += clipped(row)
    allocated = {r: sum((h[r] for h in held.values()), Fraction(0)) for r in RATES}
    idle = {r: bill[r] - allocated[r] for r in RATES}
    if share_idle:
        for h in held.values():
            for r in RATES:
                if allocated[r]:
                    h[r] += idle[r] * h[r] / allocated[r]
        idle = {r: Fraction(0) if allocated[r] else idle[r] for r in RATES}

    for k, kind in enumerate(allocation.KINDS):
        of_kind = [r for r in RATES if r.kind == kind]
        assert within_a_cent(report.bill[k], sum((bill[r] for r in of_kind), Fraction(0)))
        assert sum(line.cents[k] for line in report.lines) == report.bill[k]
        for key, h in held.items():
            line = report.line(*key)
            assert line is not None
            assert within_a_cent(line.cents[k], sum((h[r] for r in of_kind), Fraction(0)))
        idle_line = report.idle
        idle_cents = idle_line.cents[k] if idle_line else 0
        assert within_a_cent(idle_cents, sum((idle[r] for r in of_kind), Fraction(0)))
    assert sum(line.total for line in report.lines) == report.total
    assert {line.key for line in report.lines} <= {*held, report.idle_key(len(aggregate))}
