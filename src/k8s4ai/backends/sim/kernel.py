"""A discrete-event kernel: one heap ordered by (time, priority, sequence), so events at the
same time run in priority order and then in the order they were scheduled. Time is the
kernel's own clock and randomness comes from its seeded generator, so the same seed always
gives the same run."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Action = Callable[["Kernel"], None]


@dataclass(order=True, slots=True)
class _Entry:
    time: float
    priority: int
    sequence: int
    action: Action = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Handle:
    """Lets the scheduler of an event cancel it (a preempted job's completion, say)."""

    __slots__ = ("_entry",)

    def __init__(self, entry: _Entry) -> None:
        self._entry = entry

    def cancel(self) -> None:
        self._entry.cancelled = True


class Kernel:
    def __init__(self, seed: int, start: float = 0.0) -> None:
        self.now = start
        self.rng = np.random.default_rng(seed)
        self._heap: list[_Entry] = []
        self._sequence = 0
        self.processed = 0

    def at(self, time: float, action: Action, priority: int = 0) -> Handle:
        if time < self.now:
            raise ValueError(f"cannot schedule at {time}: the clock is already at {self.now}")
        entry = _Entry(time, priority, self._sequence, action)
        self._sequence += 1
        heapq.heappush(self._heap, entry)
        return Handle(entry)

    def after(self, delay: float, action: Action, priority: int = 0) -> Handle:
        return self.at(self.now + delay, action, priority)

    def run(self, until: float | None = None) -> None:
        """Process events in order until none are left or the next is after `until`; the
        clock then stands at `until` (when given)."""
        if until is not None and until < self.now:
            raise ValueError(f"cannot run until {until}: the clock is already at {self.now}")
        while self._heap:
            if until is not None and self._heap[0].time > until:
                break
            entry = heapq.heappop(self._heap)
            if entry.cancelled:
                continue
            self.now = entry.time
            entry.action(self)
            self.processed += 1
        if until is not None:
            self.now = until

    def __len__(self) -> int:
        return sum(1 for e in self._heap if not e.cancelled)
