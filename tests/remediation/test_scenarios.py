"""Each fault injected into the simulated cluster is detected, gets the right plan, and in
auto mode is fixed and verified; a clean run fires no rule."""

from __future__ import annotations

import pytest

from k8s4ai.backends.sim import incident_world
from k8s4ai.remediation import engine, state
from k8s4ai.remediation.rules import oom
from tests.remediation import builders as b

HOUR = b.HOUR


def proposed(e: engine.Engine, rule: str) -> list[dict[str, object]]:
    return [r for r in b.events(e, "proposed") if r["rule"] == rule]


def verdicts(e: engine.Engine, rule: str) -> list[object]:
    return [r["reason"] for r in b.events(e, "verified") if r["rule"] == rule]


def test_oom_killed_job_resumes_with_vpa_bump_and_completes() -> None:
    w = b.world()
    ref = b.job(w, "llm", need_mib=b.MEMORY * 1.1, oom_at=3 * HOUR)
    e = b.loop(w)
    b.run(w, e, 20)
    (plan,) = proposed(e, "oom-killed")
    bumped = oom.raised(b.MEMORY, b.MEMORY, 1024 * 1024.0)
    assert bumped == pytest.approx(b.MEMORY * 1.2, abs=1)
    assert plan["changes"] == [
        {"object": str(ref), "field": "memory_mib", "before": b.MEMORY, "after": bumped},
        {"object": str(ref), "field": "phase", "before": "Failed", "after": "Pending"},
        {"object": str(ref), "field": "restarts", "before": 0, "after": 1},
        {"object": str(ref), "field": "reason", "before": "OOMKilled", "after": None},
        {"object": str(ref), "field": "exit_code", "before": 137, "after": None},
    ]
    job = w.jobs[ref]
    assert job.phase == "Succeeded" and job.restarts == 1
    assert verdicts(e, "oom-killed") == ["worked"]
    # it resumed from the checkpoint at 3 h, so it lost at most one interval of work
    assert w.lost_gpu_seconds <= 8 * 1800


def test_oom_bump_is_capped_by_the_largest_node() -> None:
    assert oom.raised(1000.0, 1000.0, 1100.0) == 1100.0
    assert oom.raised(1000.0, None, 10_000.0) == 1200.0
    assert oom.raised(100.0, 120.0, 10_000.0) == 220.0


def test_retryable_exit_is_restarted_from_checkpoint() -> None:
    w = b.world()
    ref = b.job(w, "train", crash_at=2 * HOUR, crash_code=143)
    e = b.loop(w)
    b.run(w, e, 20)
    assert [p["action"] for p in proposed(e, "failed-job")] == ["restart from checkpoint"]
    assert w.jobs[ref].phase == "Succeeded"
    assert verdicts(e, "failed-job") == ["worked"]


def test_permanent_exit_is_explained_not_restarted() -> None:
    w = b.world()
    ref = b.job(w, "buggy", crash_at=1 * HOUR, crash_code=1, crash_permanent=True)
    e = b.loop(w)
    b.run(w, e, 5)
    assert proposed(e, "failed-job") == []
    (found,) = [r for r in b.events(e, "detected") if r["rule"] == "failed-job"]
    assert "the program stopped itself" in str(found["explanation"])
    assert w.jobs[ref].phase == "Failed" and w.jobs[ref].restarts == 0


def _claimed(
    w: incident_world.SimWorld, storage: str | None, size: float, zone: str | None
) -> state.Ref:
    claim = state.Ref(state.VOLUME, "team-a", "data")
    w.add_volume(state.Volume(claim, size, storage))
    b.job(w, "stateful", volume="data", zone=zone, work=2 * HOUR)
    return claim


@pytest.mark.parametrize(
    ("storage", "size", "zone", "classes", "action"),
    [
        ("fast-ssd", 100.0, None, [], "use class standard"),
        ("zonal-a", 100.0, "zone-b", [("zonal-a", ("zone-a",), 1e9)], "use class standard"),
        ("nvme", 100.0, None, [("nvme", (), 10.0)], "use class standard"),
    ],
    ids=["missing-class", "zone-conflict", "capacity"],
)
def test_pending_claim_is_diagnosed_and_binds(
    storage: str,
    size: float,
    zone: str | None,
    classes: list[tuple[str, tuple[str, ...], float]],
    action: str,
) -> None:
    w = b.world()
    for name, zones, free in classes:
        w.add_class(
            state.StorageClass(state.Ref(state.STORAGE_CLASS, "", name), zones=zones, free_gib=free)
        )
    claim = _claimed(w, storage, size, zone)
    e = b.loop(w)
    b.run(w, e, 4)
    assert [p["action"] for p in proposed(e, "pending-volume")] == [action]
    assert w.volumes[claim].phase == "Bound"
    assert w.jobs[state.Ref(state.JOB, "team-a", "stateful")].phase == "Succeeded"
    assert verdicts(e, "pending-volume") == ["worked"]


def test_zone_conflict_without_another_class_repins_the_pod() -> None:
    w = incident_world.SimWorld(seed=1)
    for i in range(2):
        w.add_node(f"n{i}", ("zone-a", "zone-b")[i], 1024 * 1024.0)
    w.add_class(
        state.StorageClass(state.Ref(state.STORAGE_CLASS, "", "zonal-a"), zones=("zone-a",))
    )
    _claimed(w, "zonal-a", 100.0, "zone-b")
    e = b.loop(w)
    b.run(w, e, 4)
    assert [p["action"] for p in proposed(e, "pending-volume")] == ["pin to zone zone-a"]
    assert w.jobs[state.Ref(state.JOB, "team-a", "stateful")].phase == "Succeeded"


def test_volume_stuck_on_a_dead_node_is_detached() -> None:
    w = b.world()
    dead = w.nodes[state.Ref(state.NODE, "", "n0")]
    w.nodes[dead.ref] = incident_world.replace(dead, ready=False)
    claim = state.Ref(state.VOLUME, "team-a", "data")
    w.add_volume(state.Volume(claim, 100.0, "standard", "Bound", "zone-a", "n0"))
    ref = b.job(w, "stateful", volume="data", work=2 * HOUR)
    assert w.jobs[ref].phase == "Pending"
    e = b.loop(w)
    b.run(w, e, 4)
    assert [p["action"] for p in proposed(e, "pending-volume")] == ["detach volume"]
    assert w.jobs[ref].phase == "Succeeded" and w.jobs[ref].nodes == ()
    assert w.volumes[claim].zone == "zone-a"


def test_idle_replicas_scale_down_within_latency_target() -> None:
    w = b.world()
    ref = b.service(w, replicas=8, peak=60.0)
    e = b.loop(w)
    b.run(w, e, 3)
    assert len(proposed(e, "idle-replicas")) == 1
    svc = w.services[ref]
    assert 2 <= svc.replicas < 8
    assert svc.breaches == 0 and svc.latency() <= svc.target_ms
    assert verdicts(e, "idle-replicas") == ["worked"]


def test_idle_notebook_is_suspended_and_its_gpu_freed() -> None:
    w = b.world()
    ref = b.job(
        w, "nb", gpus=1, workload="notebook", queue="dev", active_for=HOUR, away_for=48 * HOUR
    )
    e = b.loop(w)
    b.run(w, e, 2.5)
    assert proposed(e, "idle-notebook") == []
    b.run(w, e, 1.5)
    assert [p["action"] for p in proposed(e, "idle-notebook")] == ["suspend"]
    job = w.jobs[ref]
    assert job.suspend and job.nodes == () and sum(w.free.values()) == 32
    assert verdicts(e, "idle-notebook") == ["worked"]


def test_faulty_node_is_cordoned_and_its_gangs_finish_elsewhere() -> None:
    w = b.world(nodes=2)
    jobs = [b.job(w, f"j{i}", work=6 * HOUR) for i in range(3)]
    for hour in (1.0, 2.0, 3.0, 4.0, 5.0):
        w.kernel.at(hour * HOUR, lambda k: w.fail_node("n0", "GPUError"))
    e = b.loop(w)
    b.run(w, e, 30)
    (plan,) = proposed(e, "faulty-node")
    assert plan["subject"] == "Node/n0"
    assert w.nodes[state.Ref(state.NODE, "", "n0")].unschedulable
    assert w.completed == len(jobs)
    assert not any(j.phase == "Failed" for j in w.jobs.values())
    assert verdicts(e, "faulty-node") == ["worked"]


def test_drift_starts_the_retraining_template_and_weak_signals_do_not() -> None:
    w = b.world()
    svc = b.service(w, replicas=2, peak=20.0)
    w.services[svc].retrain_job = "chat-retrain"
    retrain = b.job(w, "chat-retrain", namespace="serving", suspend=True, work=HOUR)
    w.events.append(state.Event(0.0, svc, "DriftDetected", value=0.1))
    e = b.loop(w, rules=["model-drift"])
    b.run(w, e, 1)
    assert proposed(e, "model-drift") == []
    w.events.append(state.Event(w.kernel.now, svc, "DriftDetected", value=0.4))
    b.run(w, e, 3)
    assert [p["action"] for p in proposed(e, "model-drift")] == ["start retraining"]
    assert w.jobs[retrain].phase == "Succeeded"
    assert verdicts(e, "model-drift") == ["worked"]


def test_a_clean_run_fires_no_rule() -> None:
    w = b.world()
    for i in range(6):
        b.job(w, f"ok{i}", gpus=4, work=(i + 1) * HOUR)
    b.service(w, replicas=3, peak=35.0)
    b.job(w, "busy-notebook", gpus=1, workload="notebook", queue="dev", active_for=1e9)
    e = b.loop(w)
    b.run(w, e, 12)
    assert e.log.records() == []
