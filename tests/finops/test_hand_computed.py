"""The issue's hand-computed cases: each number below is worked out in its comment."""

from __future__ import annotations

import pytest

from k8s4ai.api import AcceleratorClass
from k8s4ai.finops import allocation, ledger
from k8s4ai.testing import builders as manifests
from tests.finops.builders import A100, CPU, H100, H100_SPOT, Cluster, dollars

IDLE = allocation.IDLE


def test_half_an_h100_for_two_hours() -> None:
    # 0.5 GPU × $4/h × 2 h = $4.00; the node's 1 GPU × $4/h × 2 h = $8.00 → $4.00 idle.
    report = (
        Cluster().price(H100, 4.0).asset(H100, 1, (0, 2))
        .hold(H100, 0.5, (0, 2), team="vision")
        .report("team", hours=(0, 2))
    )
    assert dollars(report) == {("vision",): "4.00", (IDLE,): "4.00"}
    assert report.total == 800


def test_a_mig_slice_costs_its_compute_share() -> None:
    a100 = AcceleratorClass.model_validate(
        manifests.accelerator_class("a100", mig=manifests.H100_MIG, pricePerHour=7.0)
    )
    slice_ = ledger.mig_fraction(a100, "1g.10gb")
    assert slice_ == pytest.approx(1 / 7)
    # 1/7 GPU × $7/h × 3 h = $3.00; the GPU × $7/h × 3 h = $21.00 → $18.00 idle.
    report = (
        Cluster().price(A100, 7.0).asset(A100, 1, (0, 3))
        .hold(A100, slice_, (0, 3), experiment="lora-sweep")
        .report("experiment", hours=(0, 3))
    )
    assert dollars(report) == {("lora-sweep",): "3.00", (IDLE,): "18.00"}


def test_unknown_mig_profile_names_what_is_offered() -> None:
    a100 = AcceleratorClass.model_validate(
        manifests.accelerator_class("a100", mig=manifests.H100_MIG)
    )
    with pytest.raises(ValueError, match=r"no MIG profile '2g.20gb' \(it offers: 1g.10gb"):
        ledger.mig_fraction(a100, "2g.20gb")


def two_teams() -> Cluster:
    # Bill: 2 H100 × $4/h × 10 h = $80; 10 cores × $0.05/h × 10 h = $5.
    # Team a: 1 GPU × 10 h = $40 and 4 cores × 10 h × $0.05 = $2; team b: 1 GPU × 5 h = $20.
    return (
        Cluster().price(H100, 4.0).price(CPU, 0.05)
        .asset(H100, 2, (0, 10)).asset(CPU, 10, (0, 10))
        .hold(H100, 1, (0, 10), team="a").hold(CPU, 4, (0, 10), team="a")
        .hold(H100, 1, (0, 5), team="b")
    )


def test_idle_as_its_own_line() -> None:
    # Idle: GPU $80 − $60 = $20, CPU $5 − $2 = $3.
    report = two_teams().report("team", hours=(0, 10))
    assert dollars(report) == {("a",): "42.00", ("b",): "20.00", (IDLE,): "23.00"}
    idle = report.idle
    assert idle is not None and idle.cents[:2] == (2000, 300)


def test_idle_shared_back_per_resource() -> None:
    # GPU idle $20 shared 40:20 → a +$13.333, b +$6.667: a $53.33, b $26.67 (b's larger
    # remainder takes the cent). CPU idle $3 all to a, the only CPU user: a's CPU $5.00.
    report = two_teams().report("team", hours=(0, 10), share_idle=True)
    assert dollars(report) == {("a",): "58.33", ("b",): "26.67"}
    assert report.line("a") == allocation.Line(("a",), (5333, 500, 0, 0))
    assert report.total == 8500


def test_a_job_spanning_the_window_edge_is_clipped() -> None:
    # The job runs from -1 h to 3 h; the window is [0 h, 2 h): 2 h × 2 GPU × $4/h = $16.
    report = (
        Cluster().price(H100, 4.0).asset(H100, 2, (-5, 5))
        .hold(H100, 2, (-1, 3), team="a")
        .hold(H100, 1, (2, 4), team="late")
        .report("team", hours=(0, 2))
    )
    assert dollars(report) == {("a",): "16.00"}


def test_a_spot_price_change_mid_run_splits_the_interval() -> None:
    # Spot H100 at $2/h, then $3/h from 1 h: 1 GPU from 0 h to 3 h = $2 + 2 × $3 = $8.00.
    # The node's 2 GPUs: 2 × $2 + 2 × 2 × $3 = $16 → $8 idle.
    report = (
        Cluster().price(H100_SPOT, 2.0).price(H100_SPOT, 3.0, since_hour=1)
        .asset(H100_SPOT, 2, (0, 3))
        .hold(H100_SPOT, 1, (0, 3), model="llama-8b")
        .report("model", hours=(0, 3))
    )
    assert dollars(report) == {("llama-8b",): "8.00", (IDLE,): "8.00"}


def test_missing_labels_are_unallocated_per_key_part() -> None:
    report = (
        Cluster().price(H100, 1.0).asset(H100, 3, (0, 1))
        .hold(H100, 1, (0, 1), team="a", experiment="e1")
        .hold(H100, 1, (0, 1), team="a")
        .hold(H100, 1, (0, 1), job="orphan")
        .report("team", "experiment", hours=(0, 1))
    )
    unallocated = allocation.UNALLOCATED
    assert dollars(report) == {
        ("__unallocated__", unallocated): "1.00",
        ("a", "e1"): "1.00",
        ("a", unallocated): "1.00",
    }


def test_rounding_gives_the_missing_cent_to_the_largest_remainder() -> None:
    # Three teams hold 1/3 of a $0.10/h GPU for 1 h: $0.0333… each, $0.10 in all.
    cluster = Cluster().price(H100, 0.10).asset(H100, 1, (0, 1))
    for team in "abc":
        cluster.hold(H100, 1 / 3, (0, 1), team=team)
    report = cluster.report("team", hours=(0, 1))
    assert sorted(line.total for line in report.lines) == [3, 3, 4]
    assert report.total == 10


def test_an_unpriced_resource_is_an_error_not_free() -> None:
    cluster = Cluster().asset(H100, 1, (0, 1)).hold(H100, 1, (0, 1), team="a")
    with pytest.raises(KeyError, match="no price for gpu/h100/on-demand"):
        cluster.report("team", hours=(0, 1))
