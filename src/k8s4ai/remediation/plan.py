"""A plan: the exact changes a fix makes, as before/after per object field, so it can be
shown as a dry-run diff, checked against the live state before it is applied, and undone by
writing the befores back.

A `Change` patches one field of one object (`field` is the `state` record's attribute
name); the world that applies it maps it onto its own objects.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from k8s4ai.remediation import finding, state

Value = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Change:
    ref: state.Ref
    field: str
    before: Value
    after: Value

    def reversed(self) -> Change:
        return Change(self.ref, self.field, self.after, self.before)

    def render(self) -> str:
        return f"{self.ref} {self.field}: {_show(self.before)} → {_show(self.after)}"


class Certainty(enum.Enum):
    """How sure the rule is of its diagnosis. Auto mode acts only on a certain one; a
    suspected one (the fault is inferred from indirect signs that chance or another cause
    also produces) waits for a human's approval whatever the mode."""

    CERTAIN = "certain"
    SUSPECTED = "suspected"


@dataclass(frozen=True, slots=True)
class Plan:
    """`action` names what the plan does in a few words ("raise memory to 7373Mi"): two
    plans with the same rule, subject and action are the same action (the guardrail against
    repeating a failed one compares them). `verify_within` is how long the fix has to show it
    worked before it counts as failed."""

    finding: finding.Finding
    action: str
    changes: tuple[Change, ...]
    effect: str
    verify_within: float = 3600.0
    baseline: float = 0.0
    """What `verify` measures the fix against (a job's progress when it failed, say)."""
    certainty: Certainty = Certainty.CERTAIN
    doubt: str = ""
    """Why the diagnosis is only suspected, in plain words; empty when it is certain."""

    def __post_init__(self) -> None:
        if not self.changes:
            raise ValueError(f"{self.finding.rule}: a plan changes at least one field")
        if (self.certainty is Certainty.SUSPECTED) != bool(self.doubt):
            raise ValueError(f"{self.finding.rule}: a suspected plan, and only one, says why")

    @property
    def suspected(self) -> bool:
        return self.certainty is Certainty.SUSPECTED

    @property
    def signature(self) -> tuple[str, state.Ref, str]:
        return (self.finding.rule, self.finding.subject, self.action)

    def undo(self) -> tuple[Change, ...]:
        """The changes that restore every field to its before, last change first."""
        return tuple(c.reversed() for c in reversed(self.changes))

    def diff(self) -> str:
        return "\n".join(f"  {c.render()}" for c in self.changes)


def stale(changes: Sequence[Change], now: state.State) -> list[str]:
    """The changes whose `before` is no longer what the object holds (or whose object is
    gone): applying them would overwrite something the plan never saw."""
    out = []
    for change in changes:
        record = now.get(change.ref)
        if record is None:
            out.append(f"{change.ref} is gone")
            continue
        current = getattr(record, change.field)
        if current != change.before:
            out.append(
                f"{change.ref} {change.field} is {_show(current)}, not {_show(change.before)}"
            )
    return out


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)
