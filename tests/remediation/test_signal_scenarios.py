"""A job killed by a signal its own process raised: a bug on a healthy node is explained and
left alone; the same signal on a node that already showed hardware trouble is restarted once
a human approves (the hardware is suspected, not proven)."""

from __future__ import annotations

from k8s4ai.backends.sim import incidents
from tests.remediation import builders as b

HOUR = b.HOUR


def test_segfault_on_a_healthy_node_is_not_restarted() -> None:
    w = b.world()
    ref = b.job(w, "buggy", crash_at=1 * HOUR, crash_code=139, crash_permanent=True)
    e = b.loop(w)
    b.run(w, e, 5)
    assert b.events(e, "applied") == []
    (found,) = [r for r in b.events(e, "detected") if r["rule"] == "failed-job"]
    assert "SIGSEGV" in str(found["explanation"]) and "no hardware trouble" in str(
        found["explanation"]
    )
    assert w.jobs[ref].phase == "Failed" and w.jobs[ref].restarts == 0


def test_sigbus_an_hour_after_a_gpu_error_on_its_node_is_restarted_once_approved() -> None:
    w = b.world(nodes=1)
    ref = b.job(w, "train", gpus=8, work=20 * HOUR)
    e = b.loop(w, rules=["failed-job"])
    b.run(w, e, 1)
    w.fail_node("n0", "GPUError")
    b.run(w, e, 1)
    assert w.jobs[ref].phase == "Running"
    w.crash_node("n0", 135)
    assert (w.jobs[ref].exit_code, w.truth[ref].last_cause) == (135, "hardware")
    b.run(w, e, 0.5)
    assert w.jobs[ref].phase == "Failed" and w.jobs[ref].restarts == 1
    found = [r for r in b.events(e, "detected") if "SIGBUS" in str(r["explanation"])]
    assert len(found) == 1
    evidence = found[0]["evidence"]
    assert isinstance(evidence, dict) and "GPUError on n0" in evidence["hardware evidence"]
    (waiting,) = e.pending()
    assert waiting.plan.suspected and "earlier trouble on the node" in waiting.plan.doubt
    assert e.approve(waiting.id, "alice").ok
    b.run(w, e, 0.5)
    assert w.jobs[ref].phase == "Running" and w.jobs[ref].restarts == 2


def test_segfaults_meeting_on_a_node_are_escalated_to_the_human_in_auto_mode() -> None:
    w = b.world(nodes=1)
    refs = [
        b.job(w, f"seg{i}", gpus=2, crash_at=(1 + 0.5 * i) * HOUR, crash_code=139,
              crash_permanent=True)
        for i in range(3)
    ]  # fmt: skip
    e = b.loop(w, rules=["failed-job"])
    human = incidents.Human(e, {"failed-job": 2 * HOUR}, escalated_only=True)
    incidents.drive(w, e, w.kernel.now + 3 * HOUR, human)
    assert b.events(e, "applied") == [] and len(b.events(e, "escalated")) == 3
    incidents.drive(w, e, w.kernel.now + 2 * HOUR, human)
    applied = b.events(e, "applied")
    assert {r["subject"] for r in applied} == {str(r) for r in refs}
    assert {r["actor"] for r in applied} == {incidents.HUMAN}
    assert all(w.truth[r].last_cause == "bug" for r in refs)
