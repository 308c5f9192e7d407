"""What every cost report is computed from at one moment: the ledger, the utilisation samples
of its allocations, the prices, and the time "now" is. The live plane builds one from the store
on demand (`k8s4ai up`); files build one for `k8s4ai cost`; the HTTP `/allocation` API and
the cost metrics read whichever they are given, so they never know where it came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from k8s4ai.finops import ledger, pricing, utilisation


@dataclass(frozen=True, slots=True)
class CostView:
    ledger: ledger.Ledger
    samples: utilisation.Samples
    prices: pricing.PriceBook
    now: float
    """Epoch seconds; intervals still open end here."""


CostSource = Callable[[], CostView]
"""Builds a fresh view each call (a report must see what was held up to the call)."""
