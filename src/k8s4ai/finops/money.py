"""Dollars to cents so that a report's lines add up to its total exactly.

Costs are computed in float64 dollars: tens of millions of intervals have to be priced in
vectorised passes, which rules out Decimal, and exact integer micro-dollars would not make
the result exact anyway (a MIG slice is 1/7 of a GPU, a price is per hour, a time is in
seconds). Float64 keeps a month of a large cluster within a millionth of a cent per line.
What has to be exact is the report: its lines must sum to the bill to the cent. Rounding each
line on its own cannot promise that (three lines of $0.005 round to $0.00 or $0.03 against a
$0.02 total), so rounding happens once, at the end, with the largest-remainder method: every
line gets its cents rounded down, and the cents still missing from the total go to the lines
that lost most. No line moves by a whole cent or more, and the sum is the total.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def cents(dollars: float) -> int:
    return round(dollars * 100)


def split_cents(dollars: NDArray[np.float64], total: int) -> NDArray[np.int64]:
    """Whole cents for each of `dollars`, summing to `total` (itself the rounded sum)."""
    scaled = dollars * 100.0
    floor = np.floor(scaled)
    short = total - int(floor.sum())
    if not 0 <= short <= len(scaled):
        raise ValueError(
            f"cannot split {total} cents over lines summing to {scaled.sum():.6f} cents"
        )
    result = floor.astype(np.int64)
    if short:
        largest = np.argsort(floor - scaled, kind="stable")[:short]
        result[largest] += 1
    return result


def format_cents(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    dollars, rest = divmod(abs(amount), 100)
    return f"{sign}${dollars:,}.{rest:02d}"
