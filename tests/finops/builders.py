"""A small fluent cluster for cost tests: assets and allocations in hours from t=0."""

from __future__ import annotations

from typing import Self

from k8s4ai.finops import allocation, ledger, pricing

HOUR = 3600.0
H100 = pricing.RateKey(pricing.ResourceKind.GPU, "h100")
H100_SPOT = pricing.RateKey(pricing.ResourceKind.GPU, "h100", pricing.Market.SPOT)
A100 = pricing.RateKey(pricing.ResourceKind.GPU, "a100")
CPU = pricing.RateKey(pricing.ResourceKind.CPU)
MEMORY = pricing.RateKey(pricing.ResourceKind.MEMORY)
SSD = pricing.RateKey(pricing.ResourceKind.STORAGE, "ssd")


class Cluster:
    def __init__(self) -> None:
        self.assets = ledger.IntervalsBuilder()
        self.allocations = ledger.IntervalsBuilder()
        self.prices = pricing.PriceBook()

    def price(self, rate: pricing.RateKey, per_hour: float, since_hour: float | None = None
              ) -> Self:
        since = None if since_hour is None else since_hour * HOUR
        self.prices = self.prices.with_price(rate, per_hour, since)
        return self

    def asset(self, rate: pricing.RateKey, amount: float, hours: tuple[float, float]) -> Self:
        self.assets.add(hours[0] * HOUR, hours[1] * HOUR, rate, amount, {"asset": str(rate)})
        return self

    def hold(self, rate: pricing.RateKey, amount: float, hours: tuple[float, float],
             **labels: str) -> Self:
        self.allocations.add(hours[0] * HOUR, hours[1] * HOUR, rate, amount, labels)
        return self

    def report(self, *aggregate: str, hours: tuple[float, float], share_idle: bool = False
               ) -> allocation.Report:
        book = ledger.Ledger(self.allocations.build(), self.assets.build())
        window = allocation.Window(hours[0] * HOUR, hours[1] * HOUR)
        return allocation.allocate(book, self.prices, window, aggregate, share_idle)


def dollars(report: allocation.Report) -> dict[tuple[str, ...], str]:
    """Each line's total as "$x.yz", to compare whole reports at once."""
    return {line.key: f"{line.total / 100:.2f}" for line in report.lines}
