"""Leader election on a coordination.k8s.io Lease, so that of two replicas only one acts.

The rules are client-go's: the holder renews `renewTime` every `retry_seconds`; another
replica takes the Lease only when it has seen the same record unchanged for
`lease_seconds` by its own clock (never comparing clocks across machines); every write
carries the Lease's resourceVersion, so two replicas racing for it cannot both win.

A leader counts itself leading only until `renew_deadline_seconds` after its last
successful renewal. That is shorter than the Lease, so a replica whose renewals fail (a
partition, an overloaded API server) stops acting before anyone else may take over: the gap
between the two is the margin within which a gang it was binding is finished or rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kr8s
import kr8s.asyncio

from k8s4ai.backends.kubernetes import calls, transport

VERSION = "coordination.k8s.io/v1"


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    """The Deployment's `--leader-elect-*` flags (deploy/deployment.yaml)."""

    namespace: str = "k8s4ai-system"
    name: str = "k8s4ai-controller"
    lease_seconds: float = 15.0
    renew_deadline_seconds: float = 10.0
    retry_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_seconds < self.renew_deadline_seconds < self.lease_seconds:
            raise ValueError("leader election needs retry < renew deadline < lease duration")


def _micro_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Elector:
    """One replica's view of the Lease. `leading()` is what every action checks."""

    def __init__(
        self,
        api: kr8s.asyncio.Api,
        identity: str,
        config: LeaseConfig | None = None,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self._api = api
        self.identity = identity
        self.config = config or LeaseConfig()
        self._clock = clock
        self._valid_until: float | None = None
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0

    def _now(self) -> float:
        return self._clock().timestamp()

    def leading(self) -> bool:
        return self._valid_until is not None and self._now() < self._valid_until

    async def attempt(self) -> bool:
        """Acquire or renew once; whether this replica leads afterwards. A failed request
        leaves leadership to lapse at the renew deadline rather than ending it at once."""
        try:
            won = await self._try()
        except transport.API_FAILURES:
            return self.leading()
        if not won:
            self._valid_until = None
        return self.leading()

    async def _try(self) -> bool:
        now = self._now()
        cfg = self.config
        url = f"leases/{cfg.name}"
        try:
            lease = await transport.request(
                self._api, calls.GET_LEASE, "GET", url, cfg.namespace, version=VERSION
            )
        except kr8s.ServerError as err:
            if err.response is None or err.response.status_code != 404:
                raise
            return await self._write(None, now)
        spec = lease.get("spec") or {}
        record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseTransitions"))
        if record != self._observed:
            self._observed, self._observed_at = record, now
        holder = spec.get("holderIdentity")
        held = now < self._observed_at + float(spec.get("leaseDurationSeconds") or 0)
        if holder and holder != self.identity and held:
            return False
        return await self._write(lease, now)

    async def _write(self, lease: dict[str, Any] | None, now: float) -> bool:
        cfg = self.config
        stamp = _micro_time(datetime.fromtimestamp(now, UTC))
        old = (lease or {}).get("spec") or {}
        ours = old.get("holderIdentity") == self.identity
        spec = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(cfg.lease_seconds) or 1,
            "acquireTime": old.get("acquireTime") if ours else stamp,
            "renewTime": stamp,
            "leaseTransitions": int(old.get("leaseTransitions") or 0) + (0 if ours else 1),
        }
        try:
            await self._put(lease, spec)
        except kr8s.ServerError as err:
            if err.response is not None and err.response.status_code == 409:
                return False
            raise
        self._valid_until = now + cfg.renew_deadline_seconds
        return True

    async def _put(self, lease: dict[str, Any] | None, spec: dict[str, Any]) -> None:
        """Create the Lease, or replace it at the version read (409 if someone wrote since)."""
        cfg = self.config
        body: dict[str, Any] = {
            "apiVersion": VERSION,
            "kind": "Lease",
            "metadata": {"name": cfg.name, "namespace": cfg.namespace},
            "spec": spec,
        }
        if lease is None:
            await transport.request(
                self._api, calls.CREATE_LEASE, "POST", "leases", cfg.namespace, body, VERSION
            )
            return
        body["metadata"]["resourceVersion"] = lease["metadata"]["resourceVersion"]
        url = f"leases/{cfg.name}"
        await transport.request(
            self._api, calls.UPDATE_LEASE, "PUT", url, cfg.namespace, body, VERSION
        )

    async def release(self) -> None:
        """Give the Lease up on a clean stop, as client-go's ReleaseOnCancel does, so a
        standby takes over at its next retry rather than a whole lease duration later. Call
        it only once this replica has stopped acting."""
        if not self.leading():
            return
        self._valid_until = None
        cfg = self.config
        with contextlib.suppress(*transport.API_FAILURES):
            lease = await transport.request(
                self._api,
                calls.GET_LEASE,
                "GET",
                f"leases/{cfg.name}",
                cfg.namespace,
                version=VERSION,
            )
            old = lease.get("spec") or {}
            if old.get("holderIdentity") != self.identity:
                return
            stamp = _micro_time(self._clock())
            spec = {
                "leaseDurationSeconds": 1,
                "acquireTime": stamp,
                "renewTime": stamp,
                "leaseTransitions": old.get("leaseTransitions") or 0,
            }
            await self._put(lease, spec)

    async def run(self, stop: asyncio.Event, on_acquire: Callable[[], None] | None = None) -> None:
        """Acquire and renew every `retry_seconds` until `stop`; `on_acquire` is called
        each time this replica starts leading (a new leader acts at once, not at the next
        change it happens to see)."""
        while not stop.is_set():
            was = self.leading()
            if await self.attempt() and not was and on_acquire is not None:
                on_acquire()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.retry_seconds)
