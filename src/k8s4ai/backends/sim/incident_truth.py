"""What really happens in the remediation simulator, which the rules never see: each job's
true behaviour (`Truth`) and the incidents the faults cause, with when each was recovered
(`Book`), from which the benchmark measures time to recovery and judges actions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from k8s4ai.backends.sim import kernel
from k8s4ai.remediation import state


@dataclass(slots=True)
class Truth:
    work: float = math.inf
    """Seconds of progress to finish; inf runs until stopped (a notebook)."""
    need_mib: float = 0.0
    oom_at: float = 0.0
    """Progress at which memory peaks (an OOM kill there when the request is below need)."""
    crash_at: float | None = None
    crash_code: int = 1
    crash_permanent: bool = False
    crashed: bool = False
    last_cause: str | None = None
    """Why it last failed, truly: "oom", "bug", "transient" or "hardware"."""
    checkpoint_every: float = 1800.0
    idle_after: float | None = None
    """Notebooks: when the user stops using it (absolute time, set at first start)."""
    active_for: float = 0.0
    away_for: float = 0.0
    """Notebooks: how long after going idle the user comes back and closes it."""
    handles: list[kernel.Handle] = field(default_factory=list)
    started: float = 0.0
    progress0: float = 0.0


@dataclass(slots=True)
class Incident:
    kind: str
    subject: state.Ref
    start: float
    recovered: float | None = None


class Book:
    """Every incident, and the open ones by object."""

    def __init__(self) -> None:
        self.incidents: list[Incident] = []
        self._open: dict[state.Ref, list[Incident]] = {}

    def open(self, incident: Incident) -> None:
        self.incidents.append(incident)
        self._open.setdefault(incident.subject, []).append(incident)

    def recover(
        self, ref: state.Ref, kinds: Sequence[str], now: float, exclude: bool = False
    ) -> None:
        """Close the open incidents of `ref` of the given kinds (or of all other kinds)."""
        still = []
        for incident in self._open.get(ref, ()):
            if (incident.kind in kinds) != exclude:
                incident.recovered = now
            else:
                still.append(incident)
        if still:
            self._open[ref] = still
        else:
            self._open.pop(ref, None)

    def is_open(self, ref: state.Ref, kind: str) -> bool:
        return any(i.kind == kind for i in self._open.get(ref, ()))
