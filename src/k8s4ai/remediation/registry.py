"""Every built-in rule by name, with its defaults: a new rule is one module and one entry."""

from __future__ import annotations

from k8s4ai.remediation import rule
from k8s4ai.remediation.rules import drift, exit_code, faulty_node, idle, oom, volume


def default_rules() -> tuple[rule.Rule, ...]:
    """In the order the engine runs them: a node is cordoned before the jobs it failed are
    restarted in the same pass, so they do not land on it again."""
    return (
        faulty_node.FaultyNode(),
        oom.OOMKilled(),
        exit_code.FailedJob(),
        volume.PendingVolume(),
        idle.IdleReplicas(),
        idle.IdleNotebook(),
        drift.Drift(),
    )


def names() -> list[str]:
    return [r.name for r in default_rules()]


def pick(wanted: list[str]) -> tuple[rule.Rule, ...]:
    """The named rules; an unknown name fails with the list of valid ones."""
    known = {r.name: r for r in default_rules()}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(known[n] for n in wanted)
