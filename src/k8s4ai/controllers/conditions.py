"""Conditions as Kubernetes controllers write them: one per type, and a lastTransitionTime
that moves only when the status flips, so a controller that rewrites the same observation
leaves the object untouched and a quiet cluster stays quiet."""

from __future__ import annotations

from datetime import datetime

from k8s4ai.api import meta


def condition(
    type_: str, ok: bool, reason: str, message: str, generation: int | None, now: datetime
) -> meta.Condition:
    return meta.Condition(
        type=type_,
        status="True" if ok else "False",
        reason=reason,
        message=message,
        last_transition_time=now,
        observed_generation=generation,
    )


def keep_transition_time(
    old: list[meta.Condition], new: list[meta.Condition]
) -> list[meta.Condition]:
    """`new`, with each condition's lastTransitionTime taken from `old` where its status is
    unchanged."""
    previous = {c.type: c for c in old}
    out = []
    for cond in new:
        before = previous.get(cond.type)
        if before is not None and before.status == cond.status:
            cond = cond.model_copy(update={"last_transition_time": before.last_transition_time})
        out.append(cond)
    return out
