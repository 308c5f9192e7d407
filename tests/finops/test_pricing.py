"""Price schedules: a price per unit-hour that changes at given times."""

from __future__ import annotations

import numpy as np
import pytest

from k8s4ai.api import AcceleratorClass
from k8s4ai.finops import pricing
from k8s4ai.testing import builders as manifests
from tests.finops.builders import H100, HOUR


def test_changes_replace_what_follows() -> None:
    schedule = pricing.PriceSchedule.constant(2.0).changed(HOUR, 3.0).changed(3 * HOUR, 1.0)
    assert [schedule.at(t * HOUR) for t in (0, 1, 2, 3, 4)] == [2.0, 3.0, 3.0, 1.0, 1.0]
    assert schedule.changed(2 * HOUR, 5.0) == pricing.PriceSchedule((2.0, 3.0, 5.0),
                                                                    (HOUR, 2 * HOUR))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(0, 1, 2.0, id="before-the-first-change"),
        pytest.param(0, 3, 2.0 + 2 * 3.0, id="across-one-change"),
        pytest.param(0.5, 5, 1.0 + 2 * 3.0 + 2 * 1.0, id="across-two-changes"),
        pytest.param(3.5, 4, 0.5, id="after-the-last-change"),
        pytest.param(2, 2, 0.0, id="empty"),
    ],
)
def test_cost_integrates_the_price(start: float, end: float, expected: float) -> None:
    schedule = pricing.PriceSchedule((2.0, 3.0, 1.0), (HOUR, 3 * HOUR))
    got = schedule.cost(np.array([start * HOUR]), np.array([end * HOUR]))
    assert got[0] == pytest.approx(expected)


def test_schedules_reject_what_cannot_be_a_price() -> None:
    with pytest.raises(ValueError, match="increasing"):
        pricing.PriceSchedule((1.0, 2.0, 3.0), (2.0, 1.0))
    with pytest.raises(ValueError, match="not negative"):
        pricing.PriceSchedule.constant(-1.0)
    with pytest.raises(ValueError, match="no price before"):
        pricing.PriceBook().with_price(H100, 1.0, since=0.0)


def test_on_demand_gpu_prices_come_from_the_accelerator_classes() -> None:
    h100 = AcceleratorClass.model_validate(manifests.accelerator_class("h100", pricePerHour=2.99))
    book = pricing.from_accelerator_classes([h100])
    assert book.schedule(H100) == pricing.PriceSchedule.constant(2.99)
    assert pricing.storage_hourly(0.73) == pytest.approx(0.001)
