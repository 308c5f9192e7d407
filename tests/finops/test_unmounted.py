"""Volumes someone pays for that nobody mounts: OpenCost's `__unmounted__`, kept apart from
idle capacity and never shared back. Each number is worked out in its comment."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from k8s4ai.finops import allocation
from tests.finops.builders import HOUR, SSD, Cluster, dollars

IDLE, UNMOUNTED = allocation.IDLE, allocation.UNMOUNTED


def volumes() -> Cluster:
    # SSD at $0.01 per GB-hour. Over 10 h: the volume `ckpt` (100 GB) costs $10, the volume
    # `scratch` (20 GB, never mounted) $2, and an unnamed 50 GB pool $5. Bill: $17.
    cluster = Cluster().price(SSD, 0.01)
    cluster.assets.add(0, 10 * HOUR, SSD, 100, {"volume": "ckpt"})
    cluster.assets.add(0, 10 * HOUR, SSD, 20, {"volume": "scratch"})
    cluster.assets.add(0, 10 * HOUR, SSD, 50)
    # Team a's job mounts `ckpt` for 4 h: $4. `ckpt` is unmounted for the other 6 h ($6) and
    # `scratch` throughout ($2): $8 unmounted. The pool nobody was given is idle: $5.
    return cluster.hold(SSD, 100, (0, 4), team="a", volume="ckpt")


def test_unmounted_volumes_are_their_own_line() -> None:
    report = volumes().report("team", hours=(0, 10))
    assert dollars(report) == {("a",): "4.00", (UNMOUNTED,): "8.00", (IDLE,): "5.00"}
    assert report.total == 1700


def test_shared_idle_leaves_unmounted_alone() -> None:
    report = volumes().report("team", hours=(0, 10), share_idle=True)
    assert dollars(report) == {("a",): "9.00", (UNMOUNTED,): "8.00"}


def test_a_volume_mounted_twice_over_is_not_negative() -> None:
    # Two pods each charged the whole 100 GB for 10 h ($20) on a $10 volume: nothing is
    # unmounted, and the $10 over-allocation shows as negative idle, as it does for GPUs.
    cluster = Cluster().price(SSD, 0.01)
    cluster.assets.add(0, 10 * HOUR, SSD, 100, {"volume": "ckpt"})
    cluster.hold(SSD, 100, (0, 10), team="a", volume="ckpt")
    cluster.hold(SSD, 100, (0, 10), team="b", volume="ckpt")
    report = cluster.report("team", hours=(0, 10))
    assert dollars(report) == {("a",): "10.00", ("b",): "10.00", (IDLE,): "-10.00"}


@settings(max_examples=100, deadline=None)
@given(
    assets=st.lists(
        st.tuples(st.sampled_from(("v1", "v2", None)), st.integers(1, 500),
                  st.integers(0, 600), st.integers(1, 600)),
        min_size=1, max_size=5,
    ),
    mounts=st.lists(
        st.tuples(st.sampled_from(("v1", "v2", "v3", None)), st.sampled_from(("a", "b")),
                  st.integers(1, 500), st.integers(0, 600), st.integers(1, 600)),
        max_size=6,
    ),
    share_idle=st.booleans(),
)
def test_unmounted_never_breaks_the_bill_nor_goes_negative(
    assets: list[tuple[str | None, int, int, int]],
    mounts: list[tuple[str | None, str, int, int, int]],
    share_idle: bool,
) -> None:
    cluster = Cluster().price(SSD, 0.013)
    for volume, size, start, length in assets:
        labels = {} if volume is None else {"volume": volume}
        cluster.assets.add(start * 60, (start + length) * 60, SSD, size, labels)
    for volume, team, size, start, length in mounts:
        labels = {"team": team} | ({} if volume is None else {"volume": volume})
        cluster.allocations.add(start * 60, (start + length) * 60, SSD, size, labels)
    report = cluster.report("team", hours=(0, 20), share_idle=share_idle)
    assert sum(line.total for line in report.lines) == sum(report.bill)
    unmounted = report.line(UNMOUNTED)
    if unmounted is not None:
        assert unmounted.total > 0
    if all(volume is None for volume, *_ in assets):
        assert unmounted is None, "only a named volume can be unmounted"
