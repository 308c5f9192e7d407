"""The cost loop on a cluster: the embedded plane's ledger, fed from the cluster's Nodes, pods
and volumes (`cost_records`) instead of the store's statuses, journalled to a directory of
its own (`cost_journal`), and each Budget's `status.spent` and `status.forecast` written
back (`cost_controller.budget_status`, the same figures the embedded plane writes), which is
what admission reads to hold a job a hard budget blocks.

Every replica keeps its own journal, since each watches the cluster, so a standby that takes
over knows what happened while it watched; only the Lease holder writes Budget status. A
replica whose journal began after a budget's period started did not see all of it, so it
keeps the larger of its own figure and the one the Budget shows: spending under-counted by
a replacement replica must not let a job past a hard limit.

Passes run on every change the pod and node watches see (so a deleted pod's segment closes
when it goes, to within `min_gap_seconds`) and every `period_seconds` (spending grows with
time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kr8s.asyncio

from k8s4ai.api import accelerator, budget
from k8s4ai.backends.kubernetes import (
    binder,
    calls,
    controller,
    cost_records,
    discovery,
    own,
    reflector,
    transport,
)
from k8s4ai.controllers import (
    budget_spend,
    cost_controller,
    cost_journal,
    cost_ledger,
    cost_tracker,
)
from k8s4ai.finops import pricing, utilisation, view

log = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
JOURNAL_NAME = "k8s4ai"


class NotPricedError(RuntimeError):
    """A report asked for before the first pass."""


def no_samples(_: Any) -> utilisation.Samples:
    """No utilisation measured (no Prometheus given): allocations are charged as held."""
    return utilisation.Samples.empty()


def kept(
    b: budget.Budget, new: budget.BudgetStatus, since: float | None, now: datetime
) -> budget.BudgetStatus:
    """`new`, or the Budget's own spending where it is larger and this journal began after
    the period started (or does not say when it began)."""
    start, _ = budget_spend.period(b.spec, now.astimezone(UTC))
    if since is not None and since <= start.timestamp():
        return new
    more = b.status.spent - new.spent
    if more <= 0:
        return new
    forecast = None if new.forecast is None else round(new.forecast + more, 2)
    return new.model_copy(update={"spent": b.status.spent, "forecast": forecast})


class CostLoop:
    def __init__(
        self,
        api: kr8s.asyncio.Api,
        pods: reflector.Reflector,
        nodes: reflector.Reflector,
        folder: Path,
        leading: Callable[[], bool] = binder.always,
        clock: Callable[[], datetime] = controller.wall_clock,
        config: discovery.DiscoveryConfig | None = None,
        imported: pricing.PriceBook | None = None,
        sampler: cost_ledger.Sampler = no_samples,
        heartbeat_seconds: float = 10.0,
        min_gap_seconds: float = 1.0,
    ) -> None:
        """`pods`, `nodes`: the scheduler loop's watched copies (`Controller.pods/nodes`),
        so the cluster is watched once; `folder`: where the journal lives (`--ledger-dir`);
        `sampler`: GPU utilisation for `view()` (`dcgm.sampler`; passes, which weigh budgets
        on the allocation basis, ask for none); `min_gap_seconds`: the least time between
        passes, so a burst of pod events costs one pass, not one each."""
        self._api = api
        self._pods, self._nodes = pods, nodes
        self._leading = leading
        self._clock = clock
        self._config = config
        self._imported = imported
        self._sampler = sampler
        self._min_gap = min_gap_seconds
        self.tracker = cost_tracker.Tracker(
            cost_journal.Journal(folder, JOURNAL_NAME), heartbeat_seconds
        )
        self.changed = asyncio.Event()
        self.last_view: view.CostView | None = None
        """What the last pass priced (without utilisation samples)."""
        self._lock = threading.Lock()
        """`view()` is called from HTTP threads while a pass advances the tracker."""
        self._reported: set[str] = set()
        self._held: tuple[cost_ledger.Record, ...] = ()
        self._classes: tuple[accelerator.AcceleratorClass, ...] = ()

    async def _list(self, call: calls.ApiCall, plural: str) -> list[dict[str, Any]]:
        listed = await transport.request(self._api, call, "GET", plural)
        return list(listed.get("items") or [])

    async def _read(self) -> tuple[cost_records.Holdings, list[budget.Budget]]:
        classes = await own.list_own(
            self._api, calls.LIST_ACCELERATOR_CLASSES, accelerator.AcceleratorClass
        )
        budgets = await own.list_own(self._api, calls.LIST_BUDGETS, budget.Budget, True)
        volumes = await self._list(calls.LIST_PERSISTENT_VOLUMES, "persistentvolumes")
        claims = await self._list(calls.LIST_PERSISTENT_VOLUME_CLAIMS, "persistentvolumeclaims")
        held = cost_records.holdings(
            self._nodes.objects.values(), self._pods.objects.values(), volumes, claims,
            classes, self._config,
        )
        for problem in sorted(set(held.problems) - self._reported):
            log.warning("left out of the cost ledger: %s", problem)
        self._reported = set(held.problems)
        return held, budgets

    async def run_once(self) -> int:
        """One pass: the ledger advanced to now; then, while leading, each Budget's status
        written where it changed by a cent or more. Returns how many were written."""
        moment = self._clock()
        now = moment.timestamp()
        held, budgets = await self._read()
        costs = await asyncio.to_thread(self._advance, held, now)
        written = 0
        for b in budgets:
            status = kept(
                b,
                cost_controller.budget_status(b, costs, self.tracker.open_segments, moment),
                self.tracker.since,
                moment,
            )
            if not cost_controller.changed(b.status, status) or not self._leading():
                continue
            body = {"status": {
                "spent": status.spent,
                "forecast": status.forecast,
                "observedGeneration": status.observed_generation,
            }}
            try:
                await transport.request(
                    self._api, calls.PATCH_BUDGET_STATUS, "PATCH",
                    f"budgets/{b.metadata.name}/status", body=body, version=own.VERSION,
                    content_type=MERGE_PATCH,
                )
            except transport.API_FAILURES as err:
                log.warning("budget %s: status not written: %s", b.metadata.name,
                            transport.reason(err))
                continue
            written += 1
        return written

    def _advance(self, held: cost_records.Holdings, now: float) -> view.CostView:
        """Off the event loop: it writes the journal, and may wait for a `view()` whose
        sampler is asking Prometheus."""
        with self._lock:
            self._held, self._classes = held.records, held.classes
            self.tracker.advance(held.records, now)
            costs = self.tracker.view(now, held.classes, self._imported, sampler=no_samples)
            self.last_view = costs
            return costs

    def view(self) -> view.CostView:
        """The ledger as of the last pass, up to now, with utilisation from the sampler (a
        `finops.view.CostSource`, for reports that weigh use: the usage basis, findings).
        Safe from any thread; raises `NotPricedError` before the first pass, which alone knows
        the AcceleratorClasses' prices."""
        with self._lock:
            if self.last_view is None:
                raise NotPricedError("the cost loop has not read the cluster yet")
            return self.tracker.view(
                self._clock().timestamp(), self._classes, self._imported,
                sampler=self._sampler,
            )

    def stop(self) -> None:
        """A last note of what is open, so a restart knows it was held until now (nothing,
        if no pass ever read the cluster: what is open is not known to have stopped)."""
        with self._lock:
            if self.last_view is not None:
                self.tracker.advance(self._held, self._clock().timestamp(), final=True)

    async def run(self, stop: asyncio.Event, period_seconds: float = 10.0) -> None:
        """Until `stop`, once the watches have listed: a pass on every change and every
        `period_seconds`; then `stop()`. A pass that fails is retried at the next."""
        while not stop.is_set() and not (self._pods.synced.is_set()
                                          and self._nodes.synced.is_set()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
        try:
            while not stop.is_set():
                self.changed.clear()
                try:
                    await self.run_once()
                except (*transport.API_FAILURES, OSError, KeyError, ValueError) as err:
                    log.warning("cost pass failed, retrying: %s", err)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), min(self._min_gap, period_seconds))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(stop, self.changed), period_seconds)
        finally:
            try:
                self.stop()
            except OSError as err:
                log.warning("the last cost pass failed: %s", err)


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when="FIRST_COMPLETED")
    finally:
        for w in waits:
            w.cancel()
