"""The rule plugin interface: a rule reads a `state.State` and returns detections (a
finding, with a plan when it knows a fix), and later says whether its fix worked."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from k8s4ai.remediation import finding, plan, state


class Verdict(enum.IntEnum):
    PENDING = 0
    WORKED = 1
    FAILED = 2


@dataclass(frozen=True, slots=True)
class Detection:
    finding: finding.Finding
    plan: plan.Plan | None = None
    """None when the rule knows what is wrong but no safe fix (a permanent exit code)."""


class Rule(Protocol):
    @property
    def name(self) -> str: ...

    def detect(self, now: state.State) -> Iterable[Detection]: ...

    def verify(self, done: plan.Plan, applied_at: float, now: state.State) -> Verdict: ...
