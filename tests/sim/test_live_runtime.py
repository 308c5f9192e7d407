"""The live runtime on hand-built objects, with an injected clock and seed: no store, no sleep."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from k8s4ai import api, testing
from k8s4ai.api import resource
from k8s4ai.backends.sim import live_failures, live_progress, live_runtime
from k8s4ai.controllers import admission_state

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
CALM = live_failures.Rates(oom=0, error=0, terminated=0, node_mtbf_hours=1e12)


def only(**shares: float) -> live_failures.Rates:
    return live_failures.Rates(**{"oom": 0, "error": 0, "terminated": 0, **shares},
                               node_mtbf_hours=1e12)  # fmt: skip


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def nodes() -> list[resource.Resource]:
    return [testing.typed(testing.node(n)) for n in ("n1", "n2")]


def policy(interval: str = "10m") -> api.CheckpointPolicy:
    manifest = testing.checkpoint_policy("ckpt")
    manifest["spec"]["interval"] = interval
    p = testing.typed(manifest)
    assert isinstance(p, api.CheckpointPolicy)
    return p


def admitted(work: float = 3600.0, checkpoint: bool = False) -> api.GangSchedulingGroup:
    build = testing.gang("job").gpus(8)
    if checkpoint:
        build = build.checkpoint("ckpt")
    g = api.GangSchedulingGroup.model_validate(build.build())
    g.metadata.uid = "uid-job"
    g.metadata.annotations[live_progress.WORK] = str(work)
    g.metadata.labels["team"] = "team-a"
    g.status = g.status.model_copy(update={
        "phase": "Admitted",
        "start_time": T0,
        "assignments": [api.gang.PodSetAssignment(name="worker", nodes=["n1"])],
    })
    return g


def runtime(rates: live_failures.Rates = CALM) -> live_runtime.Runtime:
    return live_runtime.Runtime(60.0, 7, np.random.default_rng(7), rates, refresh_seconds=5.0)


def step(
    rt: live_runtime.Runtime, objs: list[resource.Resource], now: datetime
) -> dict[str, resource.Resource]:
    return {c.object.metadata.name: c.object for c in rt.step(objs, now)}


def gang_of(changes: dict[str, resource.Resource]) -> api.GangSchedulingGroup:
    g = changes["job"]
    assert isinstance(g, api.GangSchedulingGroup)
    return g


def test_an_admitted_gang_starts_progresses_and_succeeds_freeing_its_gpus() -> None:
    rt = runtime()
    job = admitted()
    assert step(rt, [*nodes(), job], at(-1)) == {}, "waits for its start time"
    job = gang_of(step(rt, [*nodes(), job], at(0)))
    assert (job.status.phase, job.status.progress) == ("Running", 0.0)
    assert job.status.peak_memory is not None
    job = gang_of(step(rt, [*nodes(), job], at(30)))
    assert job.status.phase == "Running" and job.status.progress == pytest.approx(0.5)
    assert step(rt, [*nodes(), job], at(31)) == {}, "progress is written every refresh at most"
    job = gang_of(step(rt, [*nodes(), job], at(75)))
    assert (job.status.phase, job.status.progress) == ("Succeeded", 1.0)
    assert job.status.completion_time == at(60)
    assert (job.status.reason, job.status.exit_code) == ("Completed", 0)
    assert job.status.phase not in admission_state.HOLDING


def test_a_gang_checkpoints_per_its_policy() -> None:
    rt = runtime()
    job = gang_of(step(rt, [*nodes(), policy("10m"), admitted(checkpoint=True)], at(0)))
    job = gang_of(step(rt, [*nodes(), policy("10m"), job], at(25)))
    # 10 cluster minutes of work = 10 s at 60x, then a 2-minute save stalls it for 2 s:
    # saves at 10 s and 22 s (the latest is reported), training again from 24 s
    assert job.status.last_checkpoint_time == at(22)
    assert job.status.checkpoint_progress == pytest.approx(20 / 60)
    assert job.status.progress == pytest.approx(21 / 60, abs=1e-3)


@pytest.mark.parametrize(
    ("rates", "with_policy", "phase", "reason", "exit_code", "restarts"),
    [
        pytest.param(only(oom=1), True, "Failed",
                     "OOMKilled", 137, 0, id="oom-is-permanent"),
        pytest.param(only(error=1), False, "Failed",
                     "Error", 1, 0, id="error-is-permanent"),
        pytest.param(only(terminated=1), True,
                     "Pending", "Error", 143, 1, id="sigterm-is-retried-from-the-checkpoint"),
    ],
)
def test_jobs_fail_with_a_reason_and_exit_code(
    rates: live_failures.Rates,
    with_policy: bool,
    phase: str,
    reason: str,
    exit_code: int,
    restarts: int,
) -> None:
    rt = runtime(rates)
    extra: list[resource.Resource] = [policy("10m")] if with_policy else []
    job = gang_of(step(rt, [*nodes(), *extra, admitted(checkpoint=with_policy)], at(0)))
    job = gang_of(step(rt, [*nodes(), *extra, job], at(120)))
    got = (job.status.phase, job.status.reason, job.status.exit_code)
    assert got == (phase, reason, exit_code)
    assert job.status.restarts == restarts
    if reason == "OOMKilled":
        assert job.status.peak_memory is not None
        share = job.status.peak_memory.value / job.spec.pod_sets[0].resources.memory.value
        assert 0.96 <= share <= 1.0
    if phase == "Pending":
        assert job.status.assignments == [] and job.status.start_time is None
        assert job.status.progress == (job.status.checkpoint_progress or 0.0)
    else:
        assert job.status.completion_time is not None and job.status.completion_time <= at(120)


def test_a_node_goes_not_ready_its_gangs_fail_and_it_comes_back() -> None:
    rates = live_failures.Rates(oom=0, error=0, terminated=0, node_mtbf_hours=1e-9,
                                node_repair_hours=1.0, node_repair_floor_hours=1.0)
    rt = runtime(rates)
    job = gang_of(step(rt, [*nodes(), admitted()], at(0)))
    changes = step(rt, [*nodes(), job], at(1))
    down = changes["n1"]
    assert isinstance(down, api.Node)
    assert [t.key for t in down.spec.taints] == [live_runtime.NOT_READY_TAINT]
    ready = down.status.condition("Ready")
    assert ready is not None and ready.status == "False"
    failed = gang_of(changes)
    assert (failed.status.phase, failed.status.reason, failed.status.restarts) == (
        "Pending", "NodeFailure", 1)
    back = step(live_runtime.Runtime(60.0, 7, np.random.default_rng(7), CALM), [down], at(200))
    assert back == {}, "a new runtime first learns the node is down, and repairs it later"
    rt2 = live_runtime.Runtime(60.0, 7, np.random.default_rng(7), CALM)
    rt2.step([down], at(1))
    healed = rt2.step([down], at(1 + 3600 / 60 * 200))
    [node_change] = healed
    assert isinstance(node_change.object, api.Node)
    assert node_change.object.spec.taints == []
    assert [n.reason for n in node_change.notes] == ["NodeReady"]


def test_a_fate_is_the_same_for_the_same_seed_job_and_attempt() -> None:
    rates = live_failures.Rates(oom=0.25, error=0.25, terminated=0.25)
    fates = [live_failures.fate(1, f"uid-{i}", 0, rates) for i in range(200)]
    again = [live_failures.fate(1, f"uid-{i}", 0, rates) for i in range(200)]
    assert fates == again
    kinds = {(f.reason, f.exit_code) if f else None for f in fates}
    assert kinds == {("OOMKilled", 137), ("Error", 1), ("Error", 143), None}
    assert all(0.0 <= f.after <= 1.0 for f in fates if f)
    early = [f.after for f in fates if f and f.reason == "OOMKilled"]
    assert max(early) <= 0.05, "OOM kills come early in the run"


@pytest.mark.parametrize(
    ("saved_on_notice", "progress", "checkpoint"),
    [
        pytest.param(True, 0.4, 0.4, id="saved-on-notice-keeps-its-progress"),
        pytest.param(False, 0.25, 0.25, id="no-save-falls-back-to-the-last-checkpoint"),
    ],
)
def test_a_preempted_gang_keeps_what_its_checkpoints_saved(
    saved_on_notice: bool, progress: float, checkpoint: float
) -> None:
    job = admitted(checkpoint=True)
    cond = api.meta.Condition(
        type="Preempted", status="True", reason="FairShare", last_transition_time=at(100))
    job.status = job.status.model_copy(update={
        "phase": "Preempted", "assignments": [], "start_time": None, "progress": 0.4,
        "checkpoint_progress": 0.25, "conditions": [cond],
        "last_checkpoint_time": at(130) if saved_on_notice else at(50),
    })
    [change] = runtime().step([*nodes(), policy(), job], at(101))
    after = change.object
    assert isinstance(after, api.GangSchedulingGroup)
    assert (after.status.progress, after.status.checkpoint_progress) == (progress, checkpoint)
    assert runtime().step([*nodes(), policy(), after], at(102)) == [], "written once"
