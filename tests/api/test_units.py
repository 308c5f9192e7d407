from decimal import Decimal

import pytest

from k8s4ai.api.units import Duration, Quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("80Gi", Decimal(80 * 2**30)),
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1.5", Decimal("1.5")),
        ("10k", Decimal(10_000)),
        ("1Ti", Decimal(2**40)),
        (".5", Decimal("0.5")),
    ],
    ids=str,
)
def test_quantity_parses_kubernetes_forms(text: str, value: Decimal) -> None:
    assert Quantity(text).value == value
    assert str(Quantity(text)) == text


@pytest.mark.parametrize("text", ["", "80GB", "-1", "1e3x", "Gi", "1.2.3"])
def test_quantity_rejects_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        Quantity(text)


def test_quantities_compare_by_amount() -> None:
    assert Quantity("1Gi") == Quantity("1024Mi")
    assert Quantity("500m") < Quantity("1")
    assert Quantity(2).text == "2"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("1h30m", 5400), ("36h", 129600), ("1.5h", 5400), (45, 45)],
    ids=str,
)
def test_duration_parses(text: str | int, seconds: float) -> None:
    assert Duration(text).seconds == seconds


@pytest.mark.parametrize("text", ["", "5", "1d", "m", "1h-5m"])
def test_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        Duration(text)
