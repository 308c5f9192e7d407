"""Cost accounting for the live plane: remembers every segment that closes (a job preempted,
finished or deleted, a node gone, a service scaled), so that history outlives the status that
showed it, and keeps each Budget's `status.spent` and `status.forecast` current.

Two files beside the store: `<db>.ledger.jsonl`, append-only, one closed segment per line in
the `finops.records` JSON record format (plus the series key), each batch one `write` on an
append-mode descriptor and fsynced; and `<db>.ledger-open.json`, the segments open at the last
pass and when it ran, replaced atomically. After a restart, a segment that was open and is no
longer in any status closes when its status says it stopped (completion, preemption), else
when the previous process last saw it open: cost kept while nobody watched is not guessed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from k8s4ai.api import accelerator, budget, gang, inference, node, resource
from k8s4ai.controllers import (
    admission_budget,
    admission_state,
    budget_spend,
    cost_ledger,
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


class Journal:
    """The two files; `closed` and `open` as last written."""

    def __init__(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.closed_path = folder / f"{name}.ledger.jsonl"
        self.open_path = folder / f"{name}.ledger-open.json"

    def read_closed(self) -> list[cost_ledger.Record]:
        """Every closed segment; a last line cut short by a crash is dropped (and cut from the
        file, so the next append starts on a fresh line)."""
        try:
            data = self.closed_path.read_bytes()
        except FileNotFoundError:
            return []
        whole = data[: data.rfind(b"\n") + 1]
        if len(whole) != len(data):
            log.warning("%s: dropping a half-written last line", self.closed_path)
            with self.closed_path.open("r+b") as f:
                f.truncate(len(whole))
        out = []
        for number, line in enumerate(whole.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append(cost_ledger.Record.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as err:
                log.warning("%s line %d is not a segment (%s); skipped", self.closed_path,
                            number, err)
        return out

    def append(self, segments: Sequence[cost_ledger.Record]) -> None:
        if not segments:
            return
        text = "".join(json.dumps(s.to_json(), sort_keys=True) + "\n" for s in segments)
        fd = os.open(self.closed_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_open(self) -> tuple[list[cost_ledger.Record], float]:
        try:
            data = json.loads(self.open_path.read_text(encoding="utf-8"))
            segments = [cost_ledger.Record.from_json(r) for r in data["open"]]
            return segments, float(data["seen"])
        except FileNotFoundError:
            return [], 0.0
        except (ValueError, KeyError, TypeError) as err:
            log.warning("%s is unreadable (%s); open segments start afresh", self.open_path, err)
            return [], 0.0

    def write_open(self, segments: Sequence[cost_ledger.Record], seen: float) -> None:
        text = json.dumps({"seen": seen, "open": [s.to_json() for s in segments]})
        partial = self.open_path.with_suffix(".json.partial")
        with partial.open("w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, self.open_path)


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
        `view_max_age`: how long (seconds) `view()` may hand out the view it last built while
        the store has not changed."""
        self._store = store
        self._view_max_age = view_max_age
        self._last_view: tuple[int, view.CostView] | None = None
        self._clock = clock
        self._imported = imported
        self._seed = seed
        self._heartbeat = heartbeat_seconds
        self._lock = threading.Lock()
        self._journal = Journal(folder, name)
        self._closed = self._journal.read_closed()
        ends = {(r.key, r.start) for r in self._closed}
        inherited, self._inherited_seen = self._journal.read_open()
        self._open = {r.key: r for r in inherited if (r.key, r.start) not in ends}
        self._inherited = set(self._open)
        self._last_end = _last_ends(self._closed)
        self._written: tuple[tuple[str, float, float], ...] = ()
        self._written_at = -float("inf")

    def _objects(self) -> list[resource.Resource]:
        return [obj for kind in KINDS for obj in self._store.list(kind.kind_name).items]

    def _advance(
        self, objs: Sequence[resource.Resource], now: float, final: bool = False
    ) -> None:
        """Close what stopped since the last pass, durably; remember what is open (in the
        file when it changed, every `heartbeat_seconds`, and on the `final` pass)."""
        current = [self._trimmed(r) for r in cost_ledger.holdings(objs, now, self._opened())]
        by_key = {r.key: r for r in current}
        owners = {o.metadata.uid: o for o in objs if o.metadata.uid}
        ended = []
        for key, old in self._open.items():
            cur = by_key.get(key)
            if cur is not None and cur.end is None and (cur.start, cur.amount) == (
                old.start, old.amount
            ):
                continue
            ended.append(replace(old, end=self._end(old, cur, owners.get(old.owner), now)))
        ended += [r for r in current if r.end is not None and r.key not in self._open]
        fresh = [self._trimmed(r) for r in ended]
        fresh = [r for r in fresh if r.end is not None and r.end > r.start]
        self._journal.append(fresh)
        self._closed += fresh
        self._last_end.update(_last_ends(fresh))
        self._open = {r.key: self._trimmed(r) for r in current if r.end is None}
        self._inherited = set()
        signature = tuple(sorted((r.key, r.start, r.amount) for r in self._open.values()))
        if final or signature != self._written or now - self._written_at >= self._heartbeat:
            self._journal.write_open(list(self._open.values()), now)
            self._written, self._written_at = signature, now

    def _trimmed(self, r: cost_ledger.Record) -> cost_ledger.Record:
        """`r` starting no earlier than its series' last closed segment ended."""
        last = self._last_end.get(r.key)
        return r if last is None or r.start >= last else replace(r, start=last)

    def _end(
        self,
        old: cost_ledger.Record,
        cur: cost_ledger.Record | None,
        owner: resource.Resource | None,
        now: float,
    ) -> float:
        """When `old` stopped: when the status says, else when its series restarted or
        changed, which is now unless it was last seen by the process before (then no later
        than that process last saw it)."""
        if cur is not None and cur.end is not None:
            end = cur.end
        elif (said := _stopped_at(owner, old.start)) is not None:
            end = said
        else:
            end = cur.start if cur is not None and cur.start != old.start else now
            if old.key in self._inherited:
                end = min(end, self._inherited_seen)
        return max(end, old.start)

    def _opened(self) -> dict[str, float]:
        """Since when each series has been open, as far as this process saw it."""
        return {k: r.start for k, r in self._open.items() if k not in self._inherited}

    def _view(self, objs: Sequence[resource.Resource], now: float) -> view.CostView:
        return cost_ledger.cost_view(
            objs, now, self._closed, self._opened(), self._imported, self._seed
        )

    def view(self) -> view.CostView:
        """The ledger up to now (a `CostSource`): closes what stopped first, so a report
        made between passes misses nothing. Building it means listing every job, so a
        dashboard's calls within `view_max_age` of each other share one while nothing was
        written to the store (its open intervals end at its own `now`)."""
        with self._lock:
            version, now = self._store.resource_version(), self._clock().timestamp()
            last = self._last_view
            if last is not None and last[0] == version and 0 <= now - last[1].now < (
                self._view_max_age
            ):
                return last[1]
            objs = self._objects()
            self._advance(objs, now)
            built = self._view(objs, now)
            self._last_view = (version, built)
            return built

    def run_once(self) -> int:
        """One pass; returns how many Budget statuses it wrote."""
        with self._lock:
            objs, moment = self._objects(), self._clock()
            now = moment.timestamp()
            self._advance(objs, now)
            costs = self._view(objs, now)
            open_now = list(self._open.values())
        written = 0
        for b in objs:
            if not isinstance(b, budget.Budget):
                continue
            status = budget_status(b, costs, open_now, moment)
            old = b.status
            if (
                abs(status.spent - old.spent) < CENT
                and abs((status.forecast or 0) - (old.forecast or 0)) < CENT
                and (status.forecast is None) == (old.forecast is None)
            ):
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


def _last_ends(segments: Sequence[cost_ledger.Record]) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in segments:
        if r.end is not None:
            out[r.key] = max(out.get(r.key, r.end), r.end)
    return out


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
