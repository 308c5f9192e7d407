"""Cost accounting for the embedded plane: remembers every segment that closes (a job
preempted, finished or deleted, a node gone, a service scaled), so that history outlives the
status that showed it, and keeps each Budget's `status.spent` and `status.forecast` current.

What the store's statuses hold is turned into segments by `cost_ledger.holdings` and kept by a
`cost_tracker.Tracker` in two files beside the store (`<db>.ledger.jsonl` and
`<db>.ledger-open.json`, see `cost_journal`); the Kubernetes backend feeds the same tracker
from a cluster's pods and nodes. After a restart, a segment that was open and is no longer in
any status closes when its status says it stopped (completion, preemption), else when the
previous process last saw it open: cost kept while nobody watched is not guessed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from k8s4ai.api import accelerator, budget, gang, inference, node, resource
from k8s4ai.controllers import (
    admission_budget,
    admission_state,
    budget_spend,
    cost_journal,
    cost_ledger,
    cost_tracker,
    runner,
)
from k8s4ai.finops import pricing, view
from k8s4ai.store import errors, interface

log = logging.getLogger(__name__)

KINDS: tuple[type[resource.Resource], ...] = (
    accelerator.AcceleratorClass,
    node.Node,
    gang.GangSchedulingGroup,
    inference.InferenceService,
    budget.Budget,
)
CENT = 0.01


def _stopped_at(obj: resource.Resource | None, start: float) -> float | None:
    """When the object's status says its run stopped, if it says so: its completion, or its
    preemption, counted until the checkpoint it saved on notice (its GPUs were held until
    then)."""
    if not isinstance(obj, gang.GangSchedulingGroup):
        return None
    status = obj.status
    if status.phase in admission_state.FINISHED and status.completion_time is not None:
        return max(start, status.completion_time.timestamp())
    cond = status.condition("Preempted")
    if cond is None or cond.status != "True" or cond.last_transition_time is None:
        return None
    at = cond.last_transition_time.timestamp()
    saved = status.last_checkpoint_time
    if saved is not None and saved.timestamp() > at:
        at = saved.timestamp()
    return at if at >= start else None


class CostController:
    """Runs the ledger against a store; `view` is a `finops.view.CostSource`."""

    def __init__(
        self,
        store: interface.Store,
        folder: Path,
        name: str = "k8s4ai",
        clock: runner.Clock = runner.wall_clock,
        imported: pricing.PriceBook | None = None,
        seed: int = 0,
        heartbeat_seconds: float = 10.0,
        view_max_age: float = 5.0,
    ) -> None:
        """`folder`/`name`: where the journal lives (beside the store file, named after it);
        `imported`: prices that override the AcceleratorClasses' and the defaults;
        `view_max_age`: how long (seconds) after building it `view()` may hand out the view
        it last built while the store has not changed (counted from the build's end, so a
        slow build on a busy machine is still shared)."""
        self._store = store
        self._view_max_age = view_max_age
        self._last_view: tuple[int, view.CostView, float] | None = None
        self._clock = clock
        self._imported = imported
        self._seed = seed
        self._lock = threading.Lock()
        self._tracker = cost_tracker.Tracker(
            cost_journal.Journal(folder, name), heartbeat_seconds
        )

    def _objects(self) -> list[resource.Resource]:
        return [obj for kind in KINDS for obj in self._store.list(kind.kind_name).items]

    def _advance(
        self, objs: Sequence[resource.Resource], now: float, final: bool = False
    ) -> None:
        owners = {o.metadata.uid: o for o in objs if o.metadata.uid}
        current = cost_ledger.holdings(objs, now, self._tracker.opened())
        self._tracker.advance(
            current, now, lambda r: _stopped_at(owners.get(r.owner), r.start), final
        )

    def _view(self, objs: Sequence[resource.Resource], now: float) -> view.CostView:
        classes = [o for o in objs if isinstance(o, accelerator.AcceleratorClass)]
        return self._tracker.view(now, classes, self._imported, self._seed)

    def view(self) -> view.CostView:
        """The ledger up to now (a `CostSource`): closes what stopped first, so a report
        made between passes misses nothing. Building it means listing every job, so a
        dashboard's calls within `view_max_age` of each other share one while nothing was
        written to the store (its open intervals end at its own `now`)."""
        with self._lock:
            version, now = self._store.resource_version(), self._clock().timestamp()
            last = self._last_view
            if last is not None and last[0] == version and 0 <= now - last[2] < (
                self._view_max_age
            ):
                return last[1]
            objs = self._objects()
            self._advance(objs, now)
            built = self._view(objs, now)
            self._last_view = (version, built, self._clock().timestamp())
            return built

    def run_once(self) -> int:
        """One pass; returns how many Budget statuses it wrote."""
        with self._lock:
            objs, moment = self._objects(), self._clock()
            now = moment.timestamp()
            self._advance(objs, now)
            costs = self._view(objs, now)
            open_now = self._tracker.open_segments
        written = 0
        for b in objs:
            if not isinstance(b, budget.Budget):
                continue
            status = budget_status(b, costs, open_now, moment)
            if not changed(b.status, status):
                continue
            try:
                self._store.replace(b.model_copy(update={"status": status}), subresource="status")
            except (errors.Conflict, errors.NotFound):
                continue
            written += 1
        return written

    def stop(self) -> None:
        """A last pass, so that a restart knows everything open was held until now."""
        with self._lock:
            self._advance(self._objects(), self._clock().timestamp(), final=True)

    def run(
        self, stop: threading.Event, poll_seconds: float = 1.0, period_seconds: float = 10.0
    ) -> None:
        """Until `stop`: a pass after every write to the store, and every `period_seconds`
        (spending grows with time, not only with writes); then a last one (`stop`). A crash
        loses at most the time since the open segments were last written (see
        `heartbeat_seconds`)."""
        seen, last = -1, None
        while not stop.is_set():
            latest, now = self._store.resource_version(), self._clock()
            due = last is None or (now - last).total_seconds() >= period_seconds
            if latest != seen or due:
                try:
                    self.run_once()
                except (errors.StoreError, OSError, KeyError, ValueError):
                    log.exception("cost pass failed; retrying")
                seen, last = self._store.resource_version(), now
            self._store.wait(seen, timeout=poll_seconds)
        try:
            self.stop()
        except (errors.StoreError, OSError):
            log.exception("the last cost pass failed")


def changed(old: budget.BudgetStatus, new: budget.BudgetStatus) -> bool:
    """Whether `new` differs from `old` by a cent or more (or in having a forecast): what is
    worth a write."""
    return not (
        abs(new.spent - old.spent) < CENT
        and abs((new.forecast or 0) - (old.forecast or 0)) < CENT
        and (new.forecast is None) == (old.forecast is None)
    )


def budget_status(
    b: budget.Budget,
    costs: view.CostView,
    open_now: Sequence[cost_ledger.Record],
    now: datetime,
) -> budget.BudgetStatus:
    """Spent in the current period (to the cent), and a forecast for its end: spent plus what
    the covered jobs hold now, at today's prices, until the period ends (none for `total`)."""
    spent = round(budget_spend.spent(b, costs.ledger, costs.prices, now), 2)
    _, end = budget_spend.period(b.spec, now.astimezone(UTC))
    forecast = None
    if end is not None:
        rate = sum(
            r.amount * costs.prices.schedule(r.rate).at(now.timestamp())
            for r in open_now
            if r.record == "allocation" and r.end is None
            and admission_budget.covers(b, r.labels.get("queue", ""), r.labels)
        )
        hours = max(0.0, (end - now).total_seconds()) / pricing.SECONDS_PER_HOUR
        forecast = round(spent + rate * hours, 2)
    return b.status.model_copy(
        update={"spent": spent, "forecast": forecast, "observed_generation": b.metadata.generation}
    )
