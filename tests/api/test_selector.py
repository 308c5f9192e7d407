import pytest

from k8s4ai.api import selector

LABELS = {"team": "a", "tier": "batch", "gpu": "h100"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("team=a", True),
        ("team==a", True),
        ("team=b", False),
        ("team!=b", True),
        ("tier in (batch, prod)", True),
        ("tier notin (batch)", False),
        ("gpu", True),
        ("!gpu", False),
        ("!spot", True),
        ("team=a,tier in (prod,dev)", False),
        ("team=a, gpu, !spot", True),
    ],
    ids=lambda v: str(v) or "empty",
)
def test_selector_matches_like_kubernetes(text: str, matches: bool) -> None:
    assert selector.parse(text).matches(LABELS) is matches


def test_bad_selector_names_the_part() -> None:
    with pytest.raises(ValueError, match=r"'team in a'"):
        selector.parse("tier=x,team in a")


def test_selector_prints_back_to_an_equivalent_string() -> None:
    parsed = selector.parse("team=a,tier in (prod,dev),!spot")
    assert selector.parse(str(parsed)) == parsed
