"""Findings, proposals and audit records as short plain lines for the CLI and dashboard."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from k8s4ai.remediation import engine, finding


def finding_line(found: finding.Finding) -> str:
    return f"[{found.severity.name.lower()}] {found.rule} {found.subject}: {found.explanation}"


def proposal_lines(proposal: engine.Proposal) -> list[str]:
    made = proposal.plan
    lines = [
        f"{proposal.id}  {made.finding.rule}  {made.finding.subject}: {made.action}",
        f"  why: {made.finding.explanation}",
        f"  diagnosis: {made.certainty.value}" + (f" — {made.doubt}" if made.doubt else ""),
        f"  expect: {made.effect}",
        "  changes (dry run):",
        *(f"  {line}" for line in made.diff().splitlines()),
    ]
    if proposal.blocked:
        lines.append(f"  held back: {proposal.blocked}")
    return lines


def record_line(record: Mapping[str, Any]) -> str:
    """One audit record: when, what, who, on what, and the fields it changed."""
    when = datetime.fromtimestamp(float(record.get("time", 0.0)), UTC).strftime("%Y-%m-%d %H:%M:%S")
    head = f"{when}  {record.get('event', '?'):<9} {record.get('id', '-'):<10}"
    who = f" by {record['actor']}" if record.get("actor") else ""
    what = record.get("action") or record.get("explanation") or ""
    line = f"{head} {record.get('rule', '')} {record.get('subject', '')}{who}: {what}"
    changes = record.get("changes") or []
    if changes:
        shown = (f"{c['field']} {_value(c['before'])} → {_value(c['after'])}" for c in changes)
        line += " (" + "; ".join(shown) + ")"
    if record.get("reason"):
        line += f" — {record['reason']}"
    return line


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)
