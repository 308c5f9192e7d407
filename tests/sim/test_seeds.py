"""Seed and policy lists as the CLI and the benchmarks accept them."""

import pytest

from k8s4ai.backends.sim import sweep
from k8s4ai.scheduler import registry


@pytest.mark.parametrize(
    ("spec", "seeds"),
    [
        ("42", (42,)),
        ("42-51", tuple(range(42, 52))),
        ("1,3,5-7", (1, 3, 5, 6, 7)),
        (" 2 , 1 ", (2, 1)),
        ("1-3,2-4", (1, 2, 3, 4)),
        ("7-7", (7,)),
    ],
    ids=["single", "range", "mixed", "spaces-keep-order", "overlap-once", "one-wide-range"],
)
def test_seed_lists(spec: str, seeds: tuple[int, ...]) -> None:
    assert sweep.parse_seeds(spec) == seeds


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "is not a seed or a range"),
        ("x", "'x' is not a seed or a range"),
        ("51-42", "'51-42': a range goes from low to high"),
        ("1,,2", "'' is not a seed"),
        ("-3", "is not a seed or a range"),
        ("1-", "'1-' is not a seed"),
    ],
    ids=["empty", "word", "backwards", "empty-item", "negative", "open-range"],
)
def test_bad_seed_lists(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sweep.parse_seeds(spec)


def test_all_means_every_registered_policy() -> None:
    assert sweep.parse_policies("all") == tuple(registry.POLICIES)


def test_policy_list_is_checked_against_the_registry() -> None:
    assert sweep.parse_policies("FGD, random,fgd") == ("fgd", "random")
    with pytest.raises(registry.UnknownPolicyError, match="unknown policy 'nope'"):
        sweep.parse_policies("fgd,nope")
