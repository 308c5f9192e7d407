"""Every guardrail holds: rate limit, blast radius, approval in propose mode, undo, no
repeat of a failed action, staleness, and a dry-run before every change."""

from __future__ import annotations

import pytest

from k8s4ai.backends.sim import incident_world
from k8s4ai.remediation import engine, explain, finding, guardrails, plan, state
from tests.remediation import builders as b

HOUR = b.HOUR
Mode = engine.Mode


def _crashing(
    w: incident_world.SimWorld, count: int, code: int = 143, permanent: bool = False
) -> list[state.Ref]:
    return [
        b.job(w, f"j{i}", gpus=1, crash_at=1.2 * HOUR, crash_code=code, crash_permanent=permanent)
        for i in range(count)
    ]


def test_rate_limit_spreads_actions_over_hours() -> None:
    w = b.world()
    _crashing(w, 4)
    e = b.loop(w, limits=guardrails.Limits(actions_per_hour=2))
    b.run(w, e, 1.5)
    assert len(b.events(e, "applied")) == 2
    blocked = b.events(e, "blocked")
    assert blocked and all("rate limit" in str(r["reason"]) for r in blocked)
    b.run(w, e, 1.5)
    assert len(b.events(e, "applied")) == 4


def _state(nodes: int, jobs: list[state.Job]) -> state.State:
    refs = [state.Ref(state.NODE, "", f"n{i}") for i in range(nodes)]
    return state.State(
        0.0,
        jobs={j.ref: j for j in jobs},
        nodes={r: state.Node(r, 8, 1e6, "z") for r in refs},
    )


def _plan(*changes: plan.Change) -> plan.Plan:
    found = finding.Finding("faulty-node", changes[0].ref, finding.Severity.WARNING, "x")
    return plan.Plan(found, "act", changes, "effect")


def _job(name: str, phase: str = "Running", nodes: tuple[str, ...] = ("n5",)) -> state.Job:
    return state.Job(state.Ref(state.JOB, "t", name), "q", 8, 1.0, phase=phase, nodes=nodes)


CORDON = plan.Change(state.Ref(state.NODE, "", "n0"), "unschedulable", False, True)
LIMITS = guardrails.Limits(cluster_share=0.1, queue_share=0.5)


@pytest.mark.parametrize(
    ("proposed", "in_flight", "jobs", "blocked"),
    [
        (_plan(CORDON), [], [], None),
        (_plan(CORDON), [guardrails.Footprint(frozenset({"n1"}))], [], "1 node"),
        (
            _plan(CORDON, plan.Change(_job("a").ref, "phase", "Running", "Pending")),
            [],
            [_job("a")],
            "2 of 10 nodes",
        ),
        (
            _plan(plan.Change(_job("c", "Failed", ()).ref, "phase", "Failed", "Pending")),
            [guardrails.Footprint(jobs=frozenset({("q", _job("a").ref), ("q", _job("b").ref)}))],
            [
                _job("a", "Failed", ()),
                _job("b", "Failed", ()),
                _job("c", "Failed", ()),
                _job("d", "Failed", ()),
            ],
            "3 of 4 active jobs of queue q",
        ),
    ],
    ids=[
        "one-node-ok",
        "cluster-share-with-in-flight",
        "moved-gang-counts-its-nodes",
        "queue-share",
    ],
)
def test_blast_radius(
    proposed: plan.Plan,
    in_flight: list[guardrails.Footprint],
    jobs: list[state.Job],
    blocked: str | None,
) -> None:
    reason = guardrails.check(proposed, _state(10, jobs), in_flight, [], frozenset(), LIMITS)
    if blocked is None:
        assert reason is None
    else:
        assert reason is not None and "blast radius" in reason and blocked.split()[0] in reason


def test_propose_mode_waits_for_approval_and_records_who() -> None:
    w = b.world()
    (ref,) = _crashing(w, 1)
    e = b.loop(w, Mode.PROPOSE)
    b.run(w, e, 5)
    (pending,) = e.pending()
    assert w.jobs[ref].phase == "Failed" and b.events(e, "applied") == []
    assert e.approve(pending.id, "alice").ok
    (applied,) = b.events(e, "applied")
    assert applied["actor"] == "alice" and applied["changes"]
    b.run(w, e, 12)
    assert w.jobs[ref].phase == "Succeeded"


def test_rejected_plan_is_not_proposed_again() -> None:
    w = b.world()
    (ref,) = _crashing(w, 1)
    e = b.loop(w, Mode.PROPOSE)
    b.run(w, e, 2)
    (pending,) = e.pending()
    assert e.reject(pending.id, "bob").ok
    b.run(w, e, 3)
    assert e.pending() == [] and w.jobs[ref].phase == "Failed"
    assert len(b.events(e, "proposed")) == 1


def test_observe_mode_only_reports() -> None:
    w = b.world()
    _crashing(w, 1)
    e = b.loop(w, Mode.OBSERVE)
    b.run(w, e, 3)
    assert len(b.events(e, "detected")) == 1 and b.events(e, "proposed") == []


def test_policy_most_specific_override_wins() -> None:
    policy = engine.Policy(
        Mode.OBSERVE,
        (
            ("*", "team-a", Mode.PROPOSE),
            ("oom-killed", "*", Mode.AUTO),
            ("oom-killed", "team-b", Mode.OBSERVE),
        ),
    )
    assert policy.mode("failed-job", "team-a") is Mode.PROPOSE
    assert policy.mode("failed-job", "team-c") is Mode.OBSERVE
    assert policy.mode("oom-killed", "team-a") is Mode.AUTO
    assert policy.mode("oom-killed", "team-b") is Mode.OBSERVE


def test_undo_restores_the_prior_state() -> None:
    w = b.world()
    ref = b.service(w, replicas=8, peak=60.0)
    e = b.loop(w, rules=["idle-replicas"])
    b.run(w, e, 0.2)
    (done,) = [p for p in e.proposals.values() if p.status is not engine.Status.PENDING]
    scaled = w.services[ref].replicas
    assert scaled < 8
    assert e.undo(done.id, "carol").ok
    assert w.services[ref].replicas == 8
    (undone,) = b.events(e, "undone")
    assert undone["actor"] == "carol"
    assert undone["changes"] == [
        {"object": str(ref), "field": "replicas", "before": scaled, "after": 8}
    ]


def test_undo_refuses_when_the_fields_moved_on() -> None:
    w = b.world()
    ref = b.job(
        w, "nb", gpus=1, workload="notebook", queue="dev", active_for=0.0, away_for=99 * HOUR
    )
    e = b.loop(w, rules=["idle-notebook"])
    b.run(w, e, 2.5)
    (done,) = list(e.proposals.values())
    assert w.jobs[ref].suspend
    w.apply([plan.Change(ref, "suspend", True, False)])
    outcome = e.undo(done.id, "carol")
    assert not outcome.ok and "suspend is False, not True" in outcome.message


def test_the_same_failing_action_is_not_repeated() -> None:
    w = b.world()
    (ref,) = _crashing(w, 1, code=143, permanent=True)
    e = b.loop(w)
    b.run(w, e, 10)
    assert [r["reason"] for r in b.events(e, "verified")] == ["failed"]
    (blocked,) = b.events(e, "blocked")
    assert "failed last time" in str(blocked["reason"])
    assert w.jobs[ref].restarts == 1 and w.jobs[ref].phase == "Failed"


def test_stale_proposal_is_withdrawn_not_applied() -> None:
    w = b.world()
    (ref,) = _crashing(w, 1)
    e = b.loop(w, Mode.PROPOSE)
    b.run(w, e, 2)
    (pending,) = e.pending()
    w.apply([plan.Change(ref, "phase", "Failed", "Pending")])
    outcome = e.approve(pending.id, "alice")
    assert not outcome.ok and "stale" in outcome.message
    assert b.events(e, "applied") == []


def test_every_change_is_preceded_by_its_dry_run_diff() -> None:
    w = b.world()
    _crashing(w, 3)
    e = b.loop(w)
    b.run(w, e, 12)
    records = e.log.records()
    applied = [i for i, r in enumerate(records) if r["event"] == "applied"]
    assert applied
    for i in applied:
        before = records[i - 1]
        assert before["event"] == "dry-run" and before["id"] == records[i]["id"]
        assert before["changes"] == records[i]["changes"]


def _three_segfaults_on_one_node(w: incident_world.SimWorld) -> list[state.Ref]:
    return [
        b.job(w, f"seg{i}", gpus=2, crash_at=(1 + 0.5 * i) * HOUR, crash_code=139,
              crash_permanent=True)
        for i in range(3)
    ]  # fmt: skip


def test_auto_mode_escalates_a_suspected_plan_and_a_human_applies_it() -> None:
    w = b.world(nodes=1)
    refs = _three_segfaults_on_one_node(w)
    e = b.loop(w, Mode.AUTO, rules=["failed-job"])
    b.run(w, e, 3)
    assert b.events(e, "applied") == []
    waiting = e.pending()
    assert {p.plan.finding.subject for p in waiting} == set(refs)
    for proposal in waiting:
        assert proposal.plan.suspected and proposal.blocked is not None
        assert proposal.blocked.startswith("escalated: suspected diagnosis")
    escalated = b.events(e, "escalated")
    assert len(escalated) == len(refs)
    assert all(r["actor"] == engine.AUTO_ACTOR for r in escalated)
    shown = "\n".join(explain.proposal_lines(waiting[0]))
    assert "diagnosis: suspected — SIGSEGV is self-raised" in shown
    assert "held back: escalated" in shown
    assert "escalated" in explain.record_line(escalated[0])
    proposed = b.events(e, "proposed")
    assert {r["certainty"] for r in proposed} == {"suspected"}
    assert all("no hardware event" in str(r["doubt"]) for r in proposed)
    assert not e.approve(waiting[0].id, engine.AUTO_ACTOR).ok
    b.run(w, e, 1)
    assert b.events(e, "applied") == [] and len(b.events(e, "escalated")) == len(refs)
    assert e.approve(waiting[0].id, "alice").ok
    (applied,) = b.events(e, "applied")
    assert applied["actor"] == "alice"
    assert w.jobs[waiting[0].plan.finding.subject].restarts == 1


def test_auto_mode_applies_a_certain_plan_itself() -> None:
    w = b.world()
    (ref,) = _crashing(w, 1)
    e = b.loop(w, Mode.AUTO, rules=["failed-job"])
    b.run(w, e, 2)
    (applied,) = b.events(e, "applied")
    assert applied["actor"] == engine.AUTO_ACTOR and b.events(e, "escalated") == []
    (proposed,) = b.events(e, "proposed")
    assert proposed["certainty"] == "certain" and w.jobs[ref].restarts == 1


def test_a_suspected_plan_must_say_why() -> None:
    found = finding.Finding("r", state.Ref(state.JOB, "a", "j"), finding.Severity.INFO, "x")
    change = (plan.Change(found.subject, "phase", "Failed", "Pending"),)
    with pytest.raises(ValueError, match="says why"):
        plan.Plan(found, "act", change, "effect", certainty=plan.Certainty.SUSPECTED)
    with pytest.raises(ValueError, match="says why"):
        plan.Plan(found, "act", change, "effect", doubt="a guess")
    assert guardrails.needs_human(plan.Plan(found, "act", change, "effect")) is None
