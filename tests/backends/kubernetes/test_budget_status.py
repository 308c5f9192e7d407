"""What the cluster's cost loop writes to a Budget when its journal began after the budget's
period did: it did not see the whole period, so it never lowers the spending the Budget shows
(a replacement replica under-counting must not let a job past a hard limit)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from k8s4ai import api
from k8s4ai.api import budget
from k8s4ai.backends.kubernetes import costs

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC).timestamp()


def monthly(spent: float) -> api.Budget:
    return api.Budget.model_validate({
        "metadata": {"name": "cap"},
        "spec": {"queues": ["team-a"], "amount": 1000, "period": "monthly"},
        "status": {"spent": spent},
    })


def computed(spent: float, forecast: float | None = None) -> budget.BudgetStatus:
    return budget.BudgetStatus(spent=spent, forecast=forecast)


@pytest.mark.parametrize(
    ("since", "shown", "mine", "written"),
    [
        pytest.param(MARCH - 1, 400.0, (100.0, 150.0), (100.0, 150.0), id="saw-the-period"),
        pytest.param(MARCH + 86400, 400.0, (100.0, 150.0), (400.0, 450.0), id="began-later"),
        pytest.param(None, 400.0, (100.0, None), (400.0, None), id="unknown-start"),
        pytest.param(MARCH + 86400, 50.0, (100.0, 150.0), (100.0, 150.0), id="already-more"),
    ],
)
def test_a_journal_that_missed_part_of_the_period_never_lowers_spending(
    since: float | None,
    shown: float,
    mine: tuple[float, float | None],
    written: tuple[float, float | None],
) -> None:
    status = costs.kept(monthly(shown), computed(*mine), since, NOW)
    assert (status.spent, status.forecast) == written
