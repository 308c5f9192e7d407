"""Failure injection: GPUs, nodes and racks fail at random, each kind with its own MTBF per
unit and repair time, and whoever holds a failed unit is told.

Every unit fails independently with exponential times between failures (a Poisson process),
so the `count` identical units of a component fail, together, at `count ÷ MTBF` while all
are up: the injector draws one time for the group, not one per unit, and picks the unit
uniformly. A failed unit is out of service for its repair time (zero: a spare takes its place
at once) and cannot fail again meanwhile.

Each component draws from its own generator, spawned from the one given, so one component's
failure times do not depend on when another stopped: two simulations with the same seed see
the same failures on the same hardware whatever their jobs did (common random numbers).

The default rates are Meta's Llama 3 run (see `k8s4ai.scheduler.checkpointing`), split by
cause as its Table 5 reports: GPU faults (GPU, HBM3, SRAM, system processor, thermal, silent
data corruption) 58.7 %, network switches and cables 8.4 % (a rack's switch), and the rest,
32.9 % (host, software, NIC, storage, power...), charged to nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from k8s4ai.backends.sim import kernel
from k8s4ai.scheduler import checkpointing

LEVELS = ("gpu", "node", "rack")
META_SHARES = (("gpu", 0.587), ("node", 0.329), ("rack", 0.084))
"""Share of Meta's interruptions by the hardware they take down (module docstring)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """How GPUs sit in nodes and nodes in racks; a gang fills whole nodes and racks."""

    gpus_per_node: int = 8
    nodes_per_rack: int = 4

    def units(self, level: str, gpus: int) -> int:
        """How many units of `level` a gang of `gpus` GPUs runs on."""
        nodes = math.ceil(gpus / self.gpus_per_node)
        if level == "gpu":
            return gpus
        if level == "node":
            return nodes
        if level == "rack":
            return math.ceil(nodes / self.nodes_per_rack)
        raise ValueError(f"unknown level {level!r}; known: {', '.join(LEVELS)}")


@dataclass(frozen=True, slots=True)
class Mode:
    """One way hardware fails: each unit of `level` every `mtbf` seconds on average, and is
    back `repair` seconds later."""

    level: str
    mtbf: float
    repair: float = 0.0

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown level {self.level!r}; known: {', '.join(LEVELS)}")
        if not self.mtbf > 0 or self.repair < 0:
            raise ValueError(f"{self.level}: MTBF must be positive and repair non-negative")


@dataclass(frozen=True, slots=True)
class FailureModel:
    modes: tuple[Mode, ...]
    layout: Layout = Layout()

    def job_mtbf(self, gpus: int) -> float:
        """Seconds between failures of a gang on `gpus` GPUs: any unit's failure stops it."""
        rate = sum(self.layout.units(m.level, gpus) / m.mtbf for m in self.modes)
        return 1.0 / rate

    def scaled(self, factor: float) -> FailureModel:
        """The same hardware failing `factor` times as often."""
        if not factor > 0:
            raise ValueError(f"factor must be positive, not {factor}")
        return replace(self, modes=tuple(replace(m, mtbf=m.mtbf / factor) for m in self.modes))

    def components(self, owner: int, gpus: int) -> list[Component]:
        return [Component(m, owner, self.layout.units(m.level, gpus)) for m in self.modes]


def from_report(
    interruptions: float,
    gpus: int,
    seconds: float,
    shares: Sequence[tuple[str, float]] = META_SHARES,
    layout: Layout = Layout(),
    repair: float = 0.0,
) -> FailureModel:
    """Per-unit MTBFs that reproduce a reported count of interruptions of one job on `gpus`
    GPUs over `seconds`, split between levels by `shares`."""
    total = sum(s for _, s in shares)
    modes = tuple(
        Mode(level, layout.units(level, gpus) * seconds / (interruptions * share / total), repair)
        for level, share in shares
    )
    return FailureModel(modes, layout)


def meta_llama3(layout: Layout = Layout(), repair: float = 0.0) -> FailureModel:
    """Meta's Llama 3 pre-training failure rates (`checkpointing.META_SOURCE`)."""
    seconds = checkpointing.META_DAYS * 86_400.0
    return from_report(
        checkpointing.META_INTERRUPTIONS,
        checkpointing.META_GPUS,
        seconds,
        layout=layout,
        repair=repair,
    )


@dataclass(frozen=True, slots=True)
class Component:
    """`count` identical units failing in `mode`, held by `owner` (a gang's index)."""

    mode: Mode
    owner: int
    count: int


@dataclass(frozen=True, slots=True)
class Failure:
    at: float
    level: str
    owner: int
    unit: int
    back_at: float
    """When the unit is in service again (`at` when a spare replaced it)."""


OnFailure = Callable[[kernel.Kernel, Failure], None]


class _Group:
    __slots__ = ("component", "down", "handle", "rng", "stopped")

    def __init__(self, component: Component, rng: np.random.Generator) -> None:
        self.component = component
        self.rng = rng
        self.down: dict[int, float] = {}
        self.handle: kernel.Handle | None = None
        self.stopped = False


class Injector:
    """Schedules the components' failures on a kernel and reports each to `on_failure`."""

    def __init__(
        self, components: Sequence[Component], rng: np.random.Generator, on_failure: OnFailure
    ) -> None:
        self.groups = [
            _Group(c, g) for c, g in zip(components, rng.spawn(len(components)), strict=True)
        ]
        self.on_failure = on_failure
        self.failures: list[Failure] = []

    def start(self, k: kernel.Kernel, owner: int | None = None) -> None:
        """Start drawing failures now: of every component, or only of `owner`'s."""
        for group in self.groups:
            if owner is None or group.component.owner == owner:
                self._next(k, group)

    def stop(self, owner: int) -> None:
        """`owner` no longer holds its hardware: stop drawing its failures."""
        for group in self.groups:
            if group.component.owner == owner:
                group.stopped = True
                if group.handle is not None:
                    group.handle.cancel()
                    group.handle = None

    def _next(self, k: kernel.Kernel, group: _Group) -> None:
        """(Re)draw the group's next failure; memoryless, so redrawing after a change in the
        number of units up is exact."""
        if group.handle is not None:
            group.handle.cancel()
            group.handle = None
        up = group.component.count - len(group.down)
        if up <= 0 or group.stopped:
            return
        gap = group.rng.exponential(group.component.mode.mtbf / up)
        group.handle = k.after(gap, lambda k: self._fail(k, group))

    def _fail(self, k: kernel.Kernel, group: _Group) -> None:
        group.handle = None
        c = group.component
        healthy = [u for u in range(c.count) if u not in group.down] if group.down else None
        pick = int(group.rng.integers(len(healthy) if healthy else c.count))
        unit = healthy[pick] if healthy else pick
        failure = Failure(k.now, c.mode.level, c.owner, unit, k.now + c.mode.repair)
        if c.mode.repair > 0:
            group.down[unit] = failure.back_at
            k.at(failure.back_at, lambda k: self._repaired(k, group, unit))
        self.failures.append(failure)
        self._next(k, group)
        self.on_failure(k, failure)

    def _repaired(self, k: kernel.Kernel, group: _Group, unit: int) -> None:
        group.down.pop(unit, None)
        self._next(k, group)
