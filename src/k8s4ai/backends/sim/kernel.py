"""A discrete-event kernel: one heap ordered by (time, priority, sequence), so events at the
same time run in priority order and then in the order they were scheduled. Time is the
kernel's own clock and randomness comes from its seeded generator, so the same seed always
gives the same run."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Action = Callable[["Kernel"], None]


@dataclass(slots=True)
class _Entry:
    time: float
    action: Action
    cancelled: bool = False


_Item = tuple[float, int, int, _Entry]
"""The heap holds plain tuples: comparing them is C code, comparing dataclasses is not, and
a long replay makes tens of millions of comparisons."""


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
        self._heap: list[_Item] = []
        self._sequence = 0
        self.processed = 0

    def at(self, time: float, action: Action, priority: int = 0) -> Handle:
        if time < self.now:
            raise ValueError(f"cannot schedule at {time}: the clock is already at {self.now}")
        entry = _Entry(time, action)
        heapq.heappush(self._heap, (time, priority, self._sequence, entry))
        self._sequence += 1
        return Handle(entry)

    def after(self, delay: float, action: Action, priority: int = 0) -> Handle:
        return self.at(self.now + delay, action, priority)

    def run(self, until: float | None = None) -> None:
        """Process events in order until none are left or the next is after `until`; the
        clock then stands at `until` (when given)."""
        if until is not None and until < self.now:
            raise ValueError(f"cannot run until {until}: the clock is already at {self.now}")
        while self._heap:
            if until is not None and self._heap[0][0] > until:
                break
            entry = heapq.heappop(self._heap)[3]
            if entry.cancelled:
                continue
            self.now = entry.time
            entry.action(self)
            self.processed += 1
        if until is not None:
            self.now = until

    def __len__(self) -> int:
        return sum(1 for item in self._heap if not item[3].cancelled)
