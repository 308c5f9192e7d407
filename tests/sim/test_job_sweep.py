"""Job replays spread over processes match the same replays in one process; a replay that
fails or runs past its time limit comes back as such instead of stopping the others."""

from __future__ import annotations

import pytest

from k8s4ai.backends.sim import job_sweep
from k8s4ai.backends.sim import jobs as replay
from k8s4ai.scheduler.admission import workload


def scenario(name: str, count: int) -> job_sweep.Scenario:
    cluster = replay.Cluster(2)
    jobs = tuple(
        replay.ReplayJob(f"{name}-{i}", 300.0 * i, 900.0 + 120 * (i % 4), (1, 2, 8, 16)[i % 4])
        for i in range(count)
    )
    return job_sweep.Scenario(name, jobs, cluster, tuple(replay.single_queue(cluster)))


@pytest.fixture(scope="module")
def scenarios() -> list[job_sweep.Scenario]:
    return [scenario("a", 16), scenario("b", 10)]


def test_processes_match_one_process(scenarios: list[job_sweep.Scenario]) -> None:
    runs = [job_sweep.Run(s, p) for s in ("a", "b") for p in ("k8s4ai", "besteffort-fifo")]
    seen: list[job_sweep.Progress] = []
    parallel = job_sweep.run_many(scenarios, runs, workers=2, on_progress=seen.append)
    serial = job_sweep.run_many(scenarios, runs, workers=1)
    assert [d.run for d in parallel] == runs
    assert [d.result.outcomes if d.result else None for d in parallel] == [
        d.result.outcomes if d.result else None for d in serial
    ]
    assert all(d.state == "done" and d.completed == d.total for d in parallel)
    finished = [p for p in seen if p.done is not None]
    assert [p.finished for p in finished] == [1, 2, 3, 4]
    assert seen[-1].fraction == pytest.approx(1.0)


def test_a_failing_replay_is_reported(
    scenarios: list[job_sweep.Scenario], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> replay.ReplayResult:
        raise KeyError("job-7")

    monkeypatch.setattr(replay, "replay", broken)
    (done,) = job_sweep.run_many(scenarios, [job_sweep.Run("a", "k8s4ai")])
    assert done.result is None and done.error == "KeyError: 'job-7'"
    assert done.state.startswith("FAILED with KeyError: 'job-7' after 0 of 16 jobs")


def test_a_replay_past_its_time_limit_is_abandoned(scenarios: list[job_sweep.Scenario]) -> None:
    run = job_sweep.Run(
        "a", "besteffort-fifo", checkpointing=workload.Checkpointing(), time_limit=1e-9
    )
    (done,) = job_sweep.run_many(scenarios, [run])
    assert done.result is None and done.error is None
    assert 1 <= done.completed < done.total
    assert done.state.startswith("ABANDONED at the time limit with 1 of 16 jobs")


def test_unknown_names_fail_before_anything_runs(scenarios: list[job_sweep.Scenario]) -> None:
    with pytest.raises(ValueError, match="no scenario named 'c'"):
        job_sweep.run_many(scenarios, [job_sweep.Run("c", "k8s4ai")])
    with pytest.raises(LookupError, match="unknown admission policy 'tetris'"):
        job_sweep.run_many(scenarios, [job_sweep.Run("a", "tetris")])


def test_a_replay_past_its_deadline_stops_between_completions() -> None:
    """The time limit is also checked while ranking, so a policy that keeps swapping jobs
    without completing any cannot run forever."""

    class Ranker:
        name = "stub"

        def rank(self, job: object, now: float, share: float) -> tuple[float, ...]:
            return (now,)

    timed = job_sweep._Timed(Ranker(), deadline=0.0)  # type: ignore[arg-type]
    assert timed.name == "stub"
    with pytest.raises(job_sweep._TooLongError):
        for _ in range(job_sweep._Timed.EVERY):
            timed.rank(None, 0.0, 0.0)  # type: ignore[arg-type]
