"""The segments of the cost ledger over time, whatever the backend: fed on each pass with what
is held now (`cost_ledger.Record`s, from a store's statuses or a cluster's pods), it closes
the segments that stopped, durably (`cost_journal`), and keeps the ones still open.

After a restart, a segment that was open and is no longer held closes when the caller can say
it stopped (a job's completion or preemption), else when the previous process last saw it
open: cost kept while nobody watched is not guessed. A series' open segment never starts
before its last closed one ended, so nothing read again after a restart is counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from k8s4ai.api import accelerator
from k8s4ai.controllers import cost_journal, cost_ledger
from k8s4ai.finops import pricing, view

StoppedAt = Callable[[cost_ledger.Record], float | None]
"""When the owner of an open segment says its run stopped, if it says so."""


def _unknown(_: cost_ledger.Record) -> float | None:
    return None


class Tracker:
    def __init__(self, journal: cost_journal.Journal, heartbeat_seconds: float = 10.0) -> None:
        """`heartbeat_seconds`: how often the open segments are written while unchanged (what
        a crash may lose)."""
        self._journal = journal
        self._heartbeat = heartbeat_seconds
        self.closed = journal.read_closed(repair=True)
        ends = {(r.key, r.start) for r in self.closed}
        state = journal.read_open()
        self._open = {r.key: r for r in state.segments if (r.key, r.start) not in ends}
        self._inherited = set(self._open)
        self._inherited_seen = state.seen
        self.since = state.since if state.seen or self.closed else None
        """When this journal began watching; None before the first pass, or when a journal
        written before this was recorded does not say."""
        self._fresh = not state.seen and not self.closed
        self._last_end = last_ends(self.closed)
        self._written: tuple[tuple[str, float, float], ...] = ()
        self._written_at = -float("inf")

    @property
    def open_segments(self) -> list[cost_ledger.Record]:
        return list(self._open.values())

    def opened(self) -> dict[str, float]:
        """Since when each series has been open, as far as this process saw it."""
        return {k: r.start for k, r in self._open.items() if k not in self._inherited}

    def advance(
        self,
        current: Iterable[cost_ledger.Record],
        now: float,
        stopped_at: StoppedAt = _unknown,
        final: bool = False,
    ) -> None:
        """Close what stopped since the last pass, durably; remember what is open (in the file
        when it changed, every `heartbeat_seconds`, and on the `final` pass)."""
        if self._fresh:
            self.since, self._fresh = now, False
        held = [self._trimmed(r) for r in current]
        by_key = {r.key: r for r in held}
        ended = []
        for key, old in self._open.items():
            cur = by_key.get(key)
            if cur is not None and cur.end is None and (cur.start, cur.amount) == (
                old.start, old.amount
            ):
                continue
            ended.append(replace(old, end=self._end(old, cur, stopped_at(old), now)))
        ended += [r for r in held if r.end is not None and r.key not in self._open]
        fresh = [self._trimmed(r) for r in ended]
        fresh = [r for r in fresh if r.end is not None and r.end > r.start]
        self._journal.append(fresh)
        self.closed += fresh
        self._last_end.update(last_ends(fresh))
        self._open = {r.key: self._trimmed(r) for r in held if r.end is None}
        self._inherited = set()
        signature = tuple(sorted((r.key, r.start, r.amount) for r in self._open.values()))
        if final or signature != self._written or now - self._written_at >= self._heartbeat:
            self._journal.write_open(list(self._open.values()), now, self.since)
            self._written, self._written_at = signature, now

    def _trimmed(self, r: cost_ledger.Record) -> cost_ledger.Record:
        """`r` starting no earlier than its series' last closed segment ended."""
        last = self._last_end.get(r.key)
        return r if last is None or r.start >= last else replace(r, start=last)

    def _end(
        self,
        old: cost_ledger.Record,
        cur: cost_ledger.Record | None,
        said: float | None,
        now: float,
    ) -> float:
        """When `old` stopped: when its owner says, else when its series restarted or
        changed, which is now unless it was last seen by the process before (then no later
        than that process last saw it)."""
        if cur is not None and cur.end is not None:
            end = cur.end
        elif said is not None:
            end = said
        else:
            end = cur.start if cur is not None and cur.start != old.start else now
            if old.key in self._inherited:
                end = min(end, self._inherited_seen)
        return max(end, old.start)

    def view(
        self,
        now: float,
        classes: Sequence[accelerator.AcceleratorClass],
        imported: pricing.PriceBook | None = None,
        seed: int = 0,
        sampler: cost_ledger.Sampler | None = None,
    ) -> view.CostView:
        """The ledger up to `now` (call `advance` first): closed and open segments, priced by
        the classes, the defaults and `imported`, with samples from `sampler` (simulated
        without one: see `cost_ledger.build`)."""
        held = cost_ledger.merge(self.closed, self.open_segments, now)
        book = cost_ledger.prices(classes, held, imported)
        vram = {c.metadata.name: c.spec.vram.gib for c in classes}
        return cost_ledger.build(held, now, book, vram, seed, sampler)


def last_ends(segments: Sequence[cost_ledger.Record]) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in segments:
        if r.end is not None:
            out[r.key] = max(out.get(r.key, r.end), r.end)
    return out
