"""The audit log is append-only JSONL that survives a torn write, and plans read as diffs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from k8s4ai.remediation import audit, finding, plan, state


def test_records_are_appended_fsynced_and_numbered(tmp_path: Path) -> None:
    path = tmp_path / "remediation" / "audit.jsonl"
    log = audit.AuditLog(path)
    log.append({"event": "applied", "actor": "alice"})
    log.append({"event": "undone", "actor": "bob"})
    assert [r["seq"] for r in log.records()] == [1, 2]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert [json.loads(line)["actor"] for line in lines] == ["alice", "bob"]


def test_a_torn_last_line_is_never_read_and_is_cut_on_reopen(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit.AuditLog(path).append({"event": "applied"})
    with path.open("ab") as handle:
        handle.write(b'{"seq":2,"event":"appl')
    assert [r["event"] for r in audit.read(path)] == ["applied"]
    log = audit.AuditLog(path)
    log.append({"event": "verified"})
    assert [(r["seq"], r["event"]) for r in log.records()] == [(1, "applied"), (2, "verified")]


def test_a_plan_prints_as_a_diff_and_undoes_in_reverse() -> None:
    job = state.Ref(state.JOB, "team-a", "llm")
    found = finding.Finding("oom-killed", job, finding.Severity.CRITICAL, "OOMKilled")
    made = plan.Plan(
        found,
        "raise memory",
        (
            plan.Change(job, "memory_mib", 65536.0, 78644.0),
            plan.Change(job, "phase", "Failed", "Pending"),
        ),
        "runs",
    )
    assert made.diff() == (
        "  GangSchedulingGroup/team-a/llm memory_mib: 65536 → 78644\n"
        "  GangSchedulingGroup/team-a/llm phase: Failed → Pending"
    )
    assert made.undo() == (
        plan.Change(job, "phase", "Pending", "Failed"),
        plan.Change(job, "memory_mib", 78644.0, 65536.0),
    )
    now = state.State(0.0, jobs={job: state.Job(job, "q", 8, 65536.0, phase="Running")})
    assert plan.stale(made.changes, now) == [
        "GangSchedulingGroup/team-a/llm phase is Running, not Failed"
    ]
