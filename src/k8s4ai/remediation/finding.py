"""A finding: what a rule saw, on which object, how bad it is, and why it thinks so."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from k8s4ai.remediation import state


class Severity(enum.IntEnum):
    """Ordered, so a view can sort or filter by "at least warning"."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2


@dataclass(frozen=True, slots=True)
class Finding:
    """`evidence` is the facts the rule used, as (name, value) pairs a human can check;
    `explanation` is one plain sentence."""

    rule: str
    subject: state.Ref
    severity: Severity
    explanation: str
    evidence: tuple[tuple[str, str], ...] = ()
    time: float = 0.0

    @property
    def key(self) -> tuple[str, state.Ref]:
        """One open finding per rule and object: a rule seeing the same fault again is the
        same incident, not a new one."""
        return (self.rule, self.subject)
