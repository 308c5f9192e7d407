"""Two replicas elect a leader on a Lease served over HTTP: only one leads, the other takes
over when renewals stop, and the one that lost binds nothing more. Time is a fake clock, so
nothing sleeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import kmock
import pytest
import pytest_asyncio

from k8s4ai.backends.kubernetes import binder, leader
from tests.backends.kubernetes.apiserver import ApiServer, status
from tests.backends.kubernetes.kube import kube_pod

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio,
    pytest.mark.kmock(cls=kmock.KubernetesScaffold),
]

CONFIG = leader.LeaseConfig(lease_seconds=15, renew_deadline_seconds=10, retry_seconds=2)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest_asyncio.fixture()
async def server(kmock: kmock.KubernetesScaffold) -> ApiServer:
    return ApiServer(kmock)


def _pair(api: Any, clock: Clock) -> tuple[leader.Elector, leader.Elector]:
    return leader.Elector(api, "a", CONFIG, clock), leader.Elector(api, "b", CONFIG, clock)


async def test_only_one_of_two_leads_and_it_keeps_leading_while_it_renews(
    server: ApiServer, api: Any
) -> None:
    clock = Clock()
    a, b = _pair(api, clock)
    assert await a.attempt() and not await b.attempt()
    for _ in range(20):
        clock.advance(CONFIG.retry_seconds)
        assert await a.attempt() and not await b.attempt()
        assert a.leading() and not b.leading()
    lease = server.get("leases", "k8s4ai-system", "k8s4ai-controller")
    assert lease is not None and lease["spec"]["holderIdentity"] == "a"
    assert lease["spec"]["leaseTransitions"] == 1


async def test_when_renewals_stop_the_other_takes_over_and_the_old_leader_binds_nothing(
    server: ApiServer, api: Any
) -> None:
    clock = Clock()
    a, b = _pair(api, clock)
    await a.attempt()
    await b.attempt()
    server.refuse[("leases", "k8s4ai-controller")] = status(503, "ServiceUnavailable", "")
    clock.advance(CONFIG.renew_deadline_seconds - 1)
    assert await a.attempt(), "a failed renewal leaves leadership until the renew deadline"
    clock.advance(1)
    assert not await a.attempt() and not a.leading()
    assert not await b.attempt(), "the Lease is not yet expired for b"
    del server.refuse[("leases", "k8s4ai-controller")]
    clock.advance(CONFIG.lease_seconds - CONFIG.renew_deadline_seconds)
    assert await b.attempt() and b.leading()
    assert not await a.attempt(), "a sees b's fresh renewal and does not take the Lease back"

    server.put("pods", kube_pod("w0"))
    placement = binder.Placement(binder.PodRef("team-a", "w0", "uid-w0"), "gpu-0")
    result = await binder.bind_gang(api, [placement], may_act=a.leading)
    assert not result.ok and "no longer holds the leader Lease" in result.reason
    assert server.bindings() == []


async def test_a_leader_that_loses_midway_rolls_back_what_it_bound(
    server: ApiServer, api: Any
) -> None:
    for name in ("w0", "w1"):
        server.put("pods", kube_pod(name))
    answers = iter([True, False])
    placements = [
        binder.Placement(binder.PodRef("team-a", name, f"uid-{name}"), "gpu-0")
        for name in ("w0", "w1")
    ]
    result = await binder.bind_gang(api, placements, may_act=lambda: next(answers))
    assert [p.name for p in result.rolled_back] == ["w0"]
    assert server.bindings() == ["w0"]
    assert server.get("pods", "team-a", "w0") is None


async def test_two_running_electors_never_lead_at_once(server: ApiServer, api: Any) -> None:
    """The run loop on the real clock, with a short Lease."""
    fast = leader.LeaseConfig(lease_seconds=0.6, renew_deadline_seconds=0.4, retry_seconds=0.05)
    a = leader.Elector(api, "a", fast)
    b = leader.Elector(api, "b", fast)
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(a.run(stop_a)), asyncio.create_task(b.run(stop_b))]
    try:
        for _ in range(10):
            await asyncio.sleep(0.03)
            assert not (a.leading() and b.leading())
        first, second, stop_first = (a, b, stop_a) if a.leading() else (b, a, stop_b)
        assert first.leading()
        stop_first.set()
        async with asyncio.timeout(3):
            while not second.leading():
                await asyncio.sleep(0.02)
        assert not first.leading()
    finally:
        stop_a.set()
        stop_b.set()
        await asyncio.gather(*tasks)


async def test_a_leader_that_stops_cleanly_hands_over_at_once(server: ApiServer, api: Any) -> None:
    clock = Clock()
    a, b = _pair(api, clock)
    await a.attempt()
    assert not await b.attempt()
    await a.release()
    assert not a.leading()
    clock.advance(CONFIG.retry_seconds)
    assert await b.attempt(), "no need to wait for the Lease to expire"
    lease = server.get("leases", "k8s4ai-system", "k8s4ai-controller")
    assert lease is not None and lease["spec"]["leaseTransitions"] == 2
