"""The usage basis: a GPU allocation is charged for what it used of what it held, the rest is
idle, and the report still adds up to the same bill to the cent. Hand-computed cases first
(each number worked out in its comment), then the reconciliation property against exact
rational arithmetic."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s4ai.finops import allocation, ledger, pricing, utilisation
from tests.finops import test_reconciliation as exact
from tests.finops.builders import CPU, H100, HOUR, Cluster, dollars

IDLE = allocation.IDLE
USAGE = allocation.Basis.USAGE
Row = tuple[pricing.RateKey, float, float, float, dict[str, str]]


def hourly(samples: utilisation.SamplesBuilder, row: int, hours: tuple[float, float],
           active: float) -> utilisation.SamplesBuilder:
    """One scrape in the middle of every hour of `hours`."""
    for hour in range(int(hours[0]), int(hours[1])):
        samples.add(row, (hour + 0.5) * HOUR, active, 10.0)
    return samples


def report(cluster: Cluster, samples: utilisation.SamplesBuilder | None, *aggregate: str,
           hours: tuple[float, float], share_idle: bool = False,
           basis: allocation.Basis = USAGE) -> allocation.Report:
    book = ledger.Ledger(cluster.allocations.build(), cluster.assets.build())
    window = allocation.Window(hours[0] * HOUR, hours[1] * HOUR)
    return allocation.allocate(
        book, cluster.prices, window, aggregate, share_idle, basis,
        None if samples is None else samples.build(),
    )


def one_h100() -> Cluster:
    # Bill: 1 H100 × $4/h × 10 h = $40, held by team a for the 10 h.
    return Cluster().price(H100, 4.0).asset(H100, 1, (0, 10)).hold(H100, 1, (0, 10), team="a")


def test_an_h100_at_40_percent_is_charged_40_percent() -> None:
    # $40 × 0.4 = $16 used; the other $24 of what it held is idle.
    used = report(one_h100(), hourly(utilisation.SamplesBuilder(), 0, (0, 10), 0.4), "team",
                  hours=(0, 10))
    assert dollars(used) == {("a",): "16.00", (IDLE,): "24.00"}
    assert used.total == 4000 and used.basis is USAGE


def test_the_allocation_basis_ignores_samples() -> None:
    held = report(one_h100(), hourly(utilisation.SamplesBuilder(), 0, (0, 10), 0.4), "team",
                  hours=(0, 10), basis=allocation.Basis.ALLOCATION)
    assert dollars(held) == {("a",): "40.00"}


@pytest.mark.parametrize("samples", [None, utilisation.SamplesBuilder()], ids=["none", "empty"])
def test_without_samples_an_allocation_is_charged_as_held(
    samples: utilisation.SamplesBuilder | None,
) -> None:
    assert dollars(report(one_h100(), samples, "team", hours=(0, 10))) == {("a",): "40.00"}


def test_only_samples_inside_the_window_and_the_interval_count() -> None:
    # Held 0–10 h, window 0–5 h: scrapes at 0.2 in hours 0–5, at 1.0 in hours 5–10, and
    # strays before the start and at the window's (exclusive) end, ignored. 5 h × $4 × 0.2 =
    # $4; the 5 h of the window cost $20, so $16 idle.
    samples = hourly(utilisation.SamplesBuilder(), 0, (0, 5), 0.2)
    hourly(samples, 0, (5, 10), 1.0).add(0, -0.5 * HOUR, 1.0, 1.0).add(0, 5 * HOUR, 1.0, 1.0)
    used = report(one_h100(), samples, "team", hours=(0, 5))
    assert dollars(used) == {("a",): "4.00", (IDLE,): "16.00"}


def test_cpu_is_charged_as_held_even_with_samples() -> None:
    # 4 cores × $0.05/h × 10 h = $2, whatever its (misattributed) samples say; the GPU
    # at 0.5 costs $20 of $40.
    cluster = one_h100().price(CPU, 0.05).asset(CPU, 4, (0, 10)).hold(CPU, 4, (0, 10), team="a")
    samples = hourly(utilisation.SamplesBuilder(), 0, (0, 10), 0.5)
    hourly(samples, 1, (0, 10), 0.0)
    used = report(cluster, samples, "team", hours=(0, 10))
    assert used.line("a") == allocation.Line(("a",), (2000, 200, 0, 0))
    assert dollars(used) == {("a",): "22.00", (IDLE,): "20.00"}


def test_idle_is_shared_in_proportion_to_what_was_used() -> None:
    # 2 H100 × $4/h × 10 h = $80. a holds one at 40 % ($16), b one at 100 % ($40); idle $24
    # goes back 16:40, a +$6.857, b +$17.143: a $22.86, b $57.14.
    cluster = (
        Cluster().price(H100, 4.0).asset(H100, 2, (0, 10))
        .hold(H100, 1, (0, 10), team="a").hold(H100, 1, (0, 10), team="b")
    )
    samples = hourly(utilisation.SamplesBuilder(), 0, (0, 10), 0.4)
    hourly(samples, 1, (0, 10), 1.0)
    shared = report(cluster, samples, "team", hours=(0, 10), share_idle=True)
    assert dollars(shared) == {("a",): "22.86", ("b",): "57.14"}
    assert shared.total == 8000


def test_a_fully_idle_allocation_keeps_its_line_at_zero() -> None:
    used = report(one_h100(), hourly(utilisation.SamplesBuilder(), 0, (0, 10), 0.0), "team",
                  hours=(0, 10))
    assert dollars(used) == {("a",): "0.00", (IDLE,): "40.00"}


def test_samples_of_rows_the_ledger_does_not_have_are_refused() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.0"):
        report(one_h100(), utilisation.SamplesBuilder().add(3, 0.0, 0.5, 1.0), "team",
               hours=(0, 10))


ACTIVITY = (0.0, 0.1, 0.4, 0.75, 1.0)


@settings(max_examples=120, deadline=None)
@given(
    book=exact.books(),
    assets=st.lists(exact.rows((1.0, 2.0, 8.0), labelled=False), max_size=6),
    allocations=st.lists(exact.rows(exact.AMOUNTS, labelled=True), max_size=20),
    scrapes=st.lists(
        st.tuples(st.integers(0, 19), exact.times, st.sampled_from(ACTIVITY)), max_size=60
    ),
    window=st.tuples(st.integers(-60, 48 * 60), st.integers(1, 50 * 60)),
    aggregate=st.lists(st.sampled_from(exact.LABELS), min_size=1, max_size=3, unique=True),
    share_idle=st.booleans(),
)
def test_usage_lines_add_up_to_the_same_bill(
    book: pricing.PriceBook,
    assets: list[Row],
    allocations: list[Row],
    scrapes: list[tuple[int, int, float]],
    window: tuple[int, int],
    aggregate: list[str],
    share_idle: bool,
) -> None:
    w0, w1 = window[0] * exact.MINUTE, (window[0] + window[1]) * exact.MINUTE
    scrapes = [s for s in scrapes if s[0] < len(allocations)]
    samples = utilisation.SamplesBuilder()
    for row, minute, active in scrapes:
        samples.add(row, minute * exact.MINUTE, active, 1.0)
    the_ledger = ledger.Ledger(exact.build(allocations), exact.build(assets))
    args = (the_ledger, book, allocation.Window(w0, w1), aggregate, share_idle)
    used = allocation.allocate(*args, basis=USAGE, samples=samples.build())
    held = allocation.allocate(*args)

    def charged(i: int, row: Row) -> Fraction:
        rate, amount, start, end, _ = row
        a, b = max(start, w0), min(end, w1)
        cost = exact.exact_cost(book.schedule(rate), amount, a, b)
        seen = [Fraction(s[2]) for s in scrapes if s[0] == i and a <= s[1] * exact.MINUTE < b]
        if rate.kind is pricing.ResourceKind.GPU and seen:
            cost *= sum(seen, Fraction(0)) / len(seen)
        return cost

    bill: dict[pricing.RateKey, Fraction] = defaultdict(Fraction)
    for row in assets:
        bill[row[0]] += exact.exact_cost(book.schedule(row[0]), row[1], max(row[2], w0),
                                         min(row[3], w1))
    lines: dict[tuple[str, ...], dict[pricing.RateKey, Fraction]] = defaultdict(
        lambda: defaultdict(Fraction)
    )
    for i, row in enumerate(allocations):
        if max(row[2], w0) < min(row[3], w1):
            key = tuple(row[4].get(n, allocation.UNALLOCATED) for n in aggregate)
            lines[key][row[0]] += charged(i, row)
    allocated = {r: sum((h[r] for h in lines.values()), Fraction(0)) for r in exact.RATES}
    idle = {r: bill[r] - allocated[r] for r in exact.RATES}
    if share_idle:
        for h in lines.values():
            for r in exact.RATES:
                if allocated[r]:
                    h[r] += idle[r] * h[r] / allocated[r]
        idle = {r: Fraction(0) if allocated[r] else idle[r] for r in exact.RATES}

    assert used.bill == held.bill
    for k, kind in enumerate(allocation.KINDS):
        of_kind = [r for r in exact.RATES if r.kind == kind]
        assert sum(line.cents[k] for line in used.lines) == used.bill[k]
        for key, h in lines.items():
            line = used.line(*key)
            assert line is not None
            assert exact.within_a_cent(line.cents[k], sum((h[r] for r in of_kind), Fraction(0)))
        idle_cents = used.idle.cents[k] if used.idle else 0
        assert exact.within_a_cent(idle_cents, sum((idle[r] for r in of_kind), Fraction(0)))
    assert {line.key for line in used.lines} <= {*lines, used.idle_key(len(aggregate))}
