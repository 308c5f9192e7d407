"""The admission cycle on a few hand-built nodes: borrowing and reclaim between two queues of
a cohort, the lending limit, priority preemption within a queue, all-or-nothing gangs, the
two FIFO strategies, what a preempted job loses, which victims are chosen, and a blocked
head's reservation."""

from __future__ import annotations

import pytest

from k8s4ai.scheduler.admission import cycle, reasons, workload
from tests.scheduler.admission import builders as b

GPU = b.GPU
GANG_POLICIES = ["besteffort-fifo", "strict-fifo", "k8s4ai"]
"""Quota, reclaim and priority behave alike under every gang policy."""


def submit(s: cycle.Scheduler, now: float, *jobs: workload.Workload) -> cycle.CycleResult:
    """Submit `jobs` and run one cycle at `now`."""
    assert all(wl.submitted <= now for wl in jobs), "a job is not eligible before it arrives"
    for wl in jobs:
        s.submit(wl)
    return s.cycle(now)


def admitted(result: cycle.CycleResult) -> list[str]:
    return [a.job.name for a in result.admitted]


def preempted(result: cycle.CycleResult) -> dict[str, str]:
    """Victim → cause."""
    return {p.job.name: p.cause for p in result.preempted}


def kind(s: cycle.Scheduler, name: str) -> reasons.Kind:
    reason = s.jobs[name].reason
    assert isinstance(reason, reasons.Reason), f"{name} has no reason"
    return reason.kind


def assert_within_quota(s: cycle.Scheduler) -> None:
    """No cohort pool is used beyond its capacity, and no queue beyond its borrowing limit."""
    for name, q in s.book.queues.items():
        for key, lim in q.limits.items():
            capacity, used = s.book.pool(name, key)
            assert used <= capacity + 1e-9, f"cohort of {name} uses {used} of {capacity} {key}"
            if lim.borrowing_limit is not None:
                assert s.book.usage[name].get(key, 0.0) <= lim.nominal + lim.borrowing_limit


def cohort(lending: float | None = None) -> list[b.quota.QueueQuota]:
    return [b.queue("a", cohort="c", lending=lending), b.queue("b", cohort="c")]


# -- (a) borrowing, (b) reclaim ------------------------------------------------------------


@pytest.mark.parametrize("policy", GANG_POLICIES)
def test_a_queue_borrows_what_an_idle_peer_does_not_use(policy: str) -> None:
    s = b.scheduler(b.nodes(2), cohort(), policy)
    result = submit(s, 1, b.job("b1", queue="b"), b.job("b2", queue="b", submitted=1))
    assert admitted(result) == ["b1", "b2"]
    assert s.book.borrowed("b") == {GPU: 8}
    assert_within_quota(s)


@pytest.mark.parametrize("policy", GANG_POLICIES)
def test_returning_queue_reclaims_by_preemption(policy: str) -> None:
    s = b.scheduler(b.nodes(2), cohort(), policy)
    submit(s, 1, b.job("b1", queue="b"), b.job("b2", queue="b", submitted=1))

    result = submit(s, 100, b.job("a1", queue="a", submitted=100))

    assert preempted(result) == {"b2": "reclaim"}, "the later-ranked borrower goes"
    [start] = result.admitted
    assert (start.job.name, start.victims) == ("a1", ("b2",))
    assert start.start_at == 100 + workload.Checkpointing().write, "after b2 saves"
    assert not s.book.is_borrowing("b")
    assert s.book.usage["a"][GPU] == 8
    assert kind(s, "b2") is reasons.Kind.PREEMPTED
    assert_within_quota(s)

    later = s.cycle(200)
    assert admitted(later) == [] and preempted(later) == {}
    assert kind(s, "b2") is reasons.Kind.QUOTA, "b is at nominal and a uses its own share"


@pytest.mark.parametrize("policy", GANG_POLICIES)
def test_a_cycle_never_preempts_a_job_it_just_admitted(policy: str) -> None:
    """b's second job borrows before a's job comes up in the same cycle: a reclaims in the
    next cycle rather than undoing, at once, a start the cycle just made."""
    s = b.scheduler(b.nodes(2), cohort(), policy)
    jobs = [b.job("b1", queue="b"), b.job("b2", queue="b", submitted=1)]
    result = submit(s, 2, *jobs, b.job("a1", queue="a", submitted=2))
    assert admitted(result) == ["b1", "b2"] and preempted(result) == {}
    assert preempted(s.cycle(3)) == {"b2": "reclaim"}


@pytest.mark.parametrize("policy", ["besteffort-fifo", "strict-fifo"])
def test_reclaim_takes_back_no_more_than_needed(policy: str) -> None:
    """b borrows 8 in two jobs of 4; a asks for 4 of its own: the latest borrower is enough.
    (k8s4ai ranks b1, the job with the most service, last, and reclaims it instead.)"""
    s = b.scheduler(b.nodes(2), cohort(), policy)
    submit(
        s,
        2,
        b.job("b1", queue="b"),
        b.job("b2", queue="b", gpus=4, submitted=1),
        b.job("b3", queue="b", gpus=4, submitted=2),
    )
    result = submit(s, 100, b.job("a1", queue="a", gpus=4, submitted=100))
    assert preempted(result) == {"b3": "reclaim"}
    assert b.running(s) == {"a1", "b1", "b2"}
    assert_within_quota(s)


def test_victims_spared_after_the_fact_still_leave_room_in_quota() -> None:
    """a's job may only run on the a100 node, so the borrowers' h100 GPUs stay free after it
    is placed. Both borrowers had to go to bring the cohort within quota: putting either back
    would overdraw the pool once a's job is charged."""
    cluster = [*b.nodes(2, model="h100"), *b.nodes(1, model="a100", prefix="z")]
    s = b.scheduler(cluster, cohort(), "besteffort-fifo")
    submit(
        s,
        2,
        b.job("b1", queue="b", models="h100"),
        b.job("b2", queue="b", gpus=4, models="h100", submitted=1),
        b.job("b3", queue="b", gpus=4, models="h100", submitted=2),
    )
    assert b.running(s) == {"b1", "b2", "b3"}

    result = submit(s, 100, b.job("a1", queue="a", models="a100", submitted=100))

    assert admitted(result) == ["a1"]
    assert preempted(result) == {"b2": "reclaim", "b3": "reclaim"}
    assert_within_quota(s)


# -- (c) lending limit ---------------------------------------------------------------------


@pytest.mark.parametrize("policy", GANG_POLICIES)
def test_lending_limit_keeps_the_guaranteed_part(policy: str) -> None:
    """a lends only 4 of its 8 GPUs: b can grow to 12, never 16, and a gets its guaranteed 4
    back without preempting anyone; the 4 it lent come back by reclaim."""
    s = b.scheduler(b.nodes(2), cohort(lending=4), policy)
    four = [b.job(f"b{i}", queue="b", gpus=4, submitted=i) for i in range(1, 5)]
    result = submit(s, 5, *four)

    assert admitted(result) == ["b1", "b2", "b3"]
    assert kind(s, "b4") is reasons.Kind.QUOTA
    assert s.book.borrowed("b") == {GPU: 4}
    assert b.free_gpus(s) == 4, "4 GPUs stay idle: they are a's guaranteed part"

    guaranteed = submit(s, 10, b.job("a1", queue="a", gpus=4, submitted=10))
    assert admitted(guaranteed) == ["a1"] and preempted(guaranteed) == {}

    lent = submit(s, 20, b.job("a2", queue="a", gpus=4, submitted=20))
    assert admitted(lent) == ["a2"]
    assert preempted(lent) == {"b3": "reclaim"}
    assert_within_quota(s)


# -- (d) priority within a queue -----------------------------------------------------------


@pytest.mark.parametrize("policy", GANG_POLICIES)
def test_higher_priority_preempts_within_its_queue(policy: str) -> None:
    s = b.scheduler(b.nodes(2), cohort(), policy)
    submit(s, 0, b.job("low", queue="a"), b.job("other", queue="b"))

    result = submit(s, 50, b.job("high", queue="a", priority=10, submitted=50))

    assert preempted(result) == {"low": "priority"}
    assert admitted(result) == ["high"]
    assert b.running(s) == {"high", "other"}, "the other queue, within its quota, is left alone"
    assert_within_quota(s)


@pytest.mark.parametrize("policy", ["besteffort-fifo", "strict-fifo"])
def test_equal_priority_does_not_preempt(policy: str) -> None:
    s = b.scheduler(b.nodes(2), cohort(), policy)
    submit(s, 0, b.job("first", queue="a"), b.job("other", queue="b"))

    result = submit(s, 50, b.job("second", queue="a", submitted=50))

    assert admitted(result) == [] and preempted(result) == {}
    assert kind(s, "second") is reasons.Kind.QUOTA


def test_priority_preemption_without_a_cohort() -> None:
    s = b.scheduler(b.nodes(2), [b.queue("a")], "besteffort-fifo")
    submit(s, 0, b.job("low", queue="a"))
    result = submit(s, 50, b.job("high", queue="a", priority=1, submitted=50))
    assert preempted(result) == {"low": "priority"}
    assert b.free_gpus(s) == 8, "a's quota, not the cluster, was what high lacked"


# -- (e) gangs are all-or-nothing ----------------------------------------------------------


def scattered(policy: str) -> cycle.Scheduler:
    """Three 8-GPU nodes with 2, 2 and 8 GPUs free."""
    s = b.scheduler(b.nodes(3), [b.queue("a", gpu=None)], policy)
    submit(s, 0, b.job("f1", gpus=6), b.job("f2", gpus=6))
    assert sorted(s.snap.gpu_free.sum(axis=1) // 1000) == [2, 2, 8]
    return s


@pytest.mark.parametrize("policy", GANG_POLICIES)
def test_a_gang_that_partly_fits_takes_nothing(policy: str) -> None:
    s = scattered(policy)
    before = s.snap.gpu_free.copy()

    result = submit(s, 1, b.job("gang", gpus=12, per_pod=6, submitted=1))

    assert admitted(result) == []
    assert (s.snap.gpu_free == before).all(), "no pod of the gang holds a GPU"
    assert s.jobs["gang"].placed == [] and s.jobs["gang"].phase is workload.Phase.PENDING
    assert kind(s, "gang") is reasons.Kind.FRAGMENTATION
    assert s.book.usage["a"] == {} or not any(s.book.usage["a"].values())


@pytest.mark.parametrize("policy", GANG_POLICIES)
def test_min_member_is_the_gang(policy: str) -> None:
    s = scattered(policy)
    result = submit(
        s,
        2,
        b.job("two-of-three", gpus=12, per_pod=4, min_member=2, submitted=1),
        b.job("all-three", gpus=12, per_pod=4, submitted=2),
    )
    assert admitted(result) == ["two-of-three"]
    assert len(s.jobs["two-of-three"].placed) == 2
    assert s.jobs["all-three"].placed == []


def test_pod_by_pod_holds_gpus_for_a_gang_that_cannot_start() -> None:
    """The contrast: the Kubernetes default starts what fits and holds it."""
    s = scattered("pod-by-pod")
    result = submit(s, 1, b.job("gang", gpus=12, per_pod=6, submitted=1))
    assert admitted(result) == []
    assert s.jobs["gang"].phase is workload.Phase.PARTIAL
    assert b.free_gpus(s) == 12 - 6


# -- (f) strict FIFO against best-effort FIFO ----------------------------------------------


def head_and_tail(policy: str) -> tuple[cycle.Scheduler, cycle.CycleResult]:
    """One queue: 8 of 16 GPUs busy, a 16-GPU head that must wait, a 4-GPU job behind it, and
    a 4-GPU job in another queue."""
    s = b.scheduler(b.nodes(2), [b.queue("a", gpu=None), b.queue("x", gpu=None)], policy)
    submit(s, 0, b.job("running"))
    result = submit(
        s,
        3,
        b.job("head", gpus=16, submitted=1),
        b.job("tail", gpus=4, submitted=2),
        b.job("elsewhere", queue="x", gpus=4, submitted=2.5),
    )
    assert kind(s, "head") is reasons.Kind.GANG_CANNOT_FIT
    return s, result


def test_strict_fifo_blocks_the_queue_behind_its_head() -> None:
    s, result = head_and_tail("strict-fifo")
    assert admitted(result) == ["elsewhere"], "only the blocked queue waits"
    assert kind(s, "tail") is reasons.Kind.BLOCKED_BY_HEAD


def test_best_effort_fifo_lets_later_jobs_in() -> None:
    _, result = head_and_tail("besteffort-fifo")
    assert admitted(result) == ["tail", "elsewhere"]


# -- (g) what a preempted job loses --------------------------------------------------------


def preempt_at(
    now: float, ckpt: workload.Checkpointing
) -> tuple[cycle.Scheduler, cycle.Preempted, cycle.Admitted]:
    s = b.scheduler(b.nodes(1), [b.queue("a", gpu=None)], "besteffort-fifo")
    submit(s, 0, b.job("victim", checkpointing=ckpt))
    result = submit(s, now, b.job("urgent", priority=1, submitted=now))
    [victim], [start] = result.preempted, result.admitted
    return s, victim, start


def test_a_victim_that_saves_on_notice_loses_nothing() -> None:
    ckpt = workload.Checkpointing(interval=300.0, write=60.0, restore=90.0)
    s, victim, start = preempt_at(1000, ckpt)
    assert (victim.lost, victim.job.done) == (0.0, 1000.0)
    assert victim.release_at == start.start_at == 1060.0, "its GPUs are free once it saved"
    assert victim.job.eligible_at == 1060.0

    s.finish("urgent", 2000)
    assert [a.job.name for a in s.cycle(2000).admitted] == ["victim"]
    assert victim.job.done_at(2100) == 1000 + (2100 - 2000 - 90), "it pays the restore"


@pytest.mark.parametrize(
    ("interval", "lost"),
    [(300.0, 100.0), (1800.0, 1000.0), (None, 1000.0)],
    ids=["since-checkpoint-at-900", "before-first-checkpoint", "never-checkpoints"],
)
def test_a_victim_that_cannot_save_loses_work_since_its_last_checkpoint(
    interval: float | None, lost: float
) -> None:
    _, victim, start = preempt_at(1000, b.no_checkpoint_on_notice(interval))
    assert victim.lost == lost
    assert victim.job.done == 1000 - lost
    assert victim.release_at == start.start_at == 1000.0, "nothing to wait for"


def test_a_slow_checkpoint_is_not_waited_for() -> None:
    """Writing takes longer than the grace period: the victim is stopped at once."""
    ckpt = workload.Checkpointing(interval=300.0, write=600.0, grace=300.0)
    _, victim, start = preempt_at(1000, ckpt)
    assert (victim.lost, start.start_at) == (100.0, 1000.0)


# -- (h) victims that lose the least work --------------------------------------------------


def two_victims(first: workload.Checkpointing, second: workload.Checkpointing) -> dict[str, str]:
    """Two equal-rank running jobs j1 and j2 (same priority and submission time) fill the
    cluster; at t=1000 a higher-priority job needs one of them gone."""
    s = b.scheduler(b.nodes(2), [b.queue("a", gpu=None)], "besteffort-fifo")
    submit(s, 0, b.job("j1", checkpointing=first), b.job("j2", checkpointing=second))
    return preempted(submit(s, 1000, b.job("urgent", priority=1, submitted=1000)))


SAVES = workload.Checkpointing()
RECENT = b.no_checkpoint_on_notice(300.0)
"""Loses the 100 s since its checkpoint at t=900."""
STALE = b.no_checkpoint_on_notice(1800.0)
"""Loses all 1000 s: its first checkpoint was due at 1800 s."""


@pytest.mark.parametrize(
    ("first", "second", "victim"),
    [
        (SAVES, STALE, "j1"),
        (STALE, SAVES, "j2"),
        (SAVES, RECENT, "j1"),
        (RECENT, SAVES, "j2"),
        (RECENT, STALE, "j1"),
        (STALE, RECENT, "j2"),
    ],
    ids=[
        "saves-vs-stale",
        "stale-vs-saves",
        "saves-vs-recent",
        "recent-vs-saves",
        "recent-vs-stale",
        "stale-vs-recent",
    ],
)
def test_the_victim_that_loses_least_goes(
    first: workload.Checkpointing, second: workload.Checkpointing, victim: str
) -> None:
    """Saving on notice loses nothing; otherwise the more recent checkpoint loses less."""
    assert two_victims(first, second) == {victim: "priority"}


def test_the_smaller_victim_goes_when_it_is_enough() -> None:
    """Same unsaved time, 4 against 8 GPUs: losing 4 × 1000 GPU-seconds beats 8 × 1000, and
    the 4 GPUs free beside the small one make a whole node."""
    s = b.scheduler(b.nodes(2), [b.queue("a", gpu=None)], "besteffort-fifo")
    ckpt = b.no_checkpoint_on_notice()
    submit(s, 0, b.job("big", checkpointing=ckpt), b.job("small", gpus=4, checkpointing=ckpt))
    result = submit(s, 1000, b.job("urgent", priority=1, submitted=1000))
    assert preempted(result) == {"small": "priority"}


def rank_preemption(victim_gpus: int, ran: float, policy: str = "k8s4ai") -> dict[str, str]:
    """A job of `victim_gpus` GPUs fills the cluster and has run `ran` seconds when a new
    1-GPU job, which has had no service and so outranks it, arrives."""
    s = b.scheduler(b.nodes(victim_gpus // 8), [b.queue("a", gpu=None)], policy)
    submit(s, 0, b.job("running", gpus=victim_gpus))
    return preempted(submit(s, ran, b.job("new", gpus=1, submitted=ran)))


@pytest.mark.parametrize(
    ("victim_gpus", "ran", "taken"),
    [(8, 1200.0, True), (64, 1200.0, False), (64, 7800.0, True), (8, 400.0, False)],
    ids=["8-gpus-after-20-min", "64-gpus-after-20-min", "64-gpus-after-130-min", "too-soon"],
)
def test_rank_preemption_never_loses_more_than_it_gains(
    victim_gpus: int, ran: float, taken: bool
) -> None:
    """The victim loses its GPUs × (checkpoint write + restore) = 120 s × its GPUs; the new
    job gains its 1 GPU × the wait it avoids, about as long as the victim has run: 8 GPUs
    lose 960 GPU-s against 1,200 gained, 64 lose 7,680, which only 7,800 s of running
    outweigh. Before 4 × 120 s of running no victim is taken at all."""
    assert rank_preemption(victim_gpus, ran) == ({"running": "rank"} if taken else {})


def test_a_policy_that_preempts_at_any_cost_still_does() -> None:
    assert rank_preemption(64, 60.0, "las2d") == {"running": "rank"}


# -- (i) a blocked head's reservation ------------------------------------------------------


def reservation(policy: str) -> cycle.Scheduler:
    """Two 8-GPU nodes: one full, one with 4 GPUs busy. The head needs a whole node; a
    4-GPU job behind it would fit in the 4 free GPUs the head is waiting for."""
    s = b.scheduler(b.nodes(2), [b.queue("a", gpu=None)], policy)
    submit(s, 1, b.job("half", gpus=4), b.job("whole", submitted=0.5))
    assert sorted(s.snap.gpu_free.sum(axis=1) // 1000) == [0, 4]
    submit(s, 10, b.job("head", submitted=1), b.job("backfill", gpus=4, submitted=2))
    return s


def test_a_reserving_head_keeps_later_jobs_off_the_nodes_it_waits_for() -> None:
    s = reservation("k8s4ai")
    assert b.running(s) == {"half", "whole"}
    assert b.free_gpus(s) == 4, "the reservation only lasts the cycle"

    s.finish("half", 20)
    assert admitted(s.cycle(20)) == ["head"], "the head starts as soon as its node frees"


def test_without_reservation_a_later_job_takes_the_heads_gpus() -> None:
    s = reservation("besteffort-fifo")
    assert b.running(s) == {"half", "whole", "backfill"}

    s.finish("half", 20)
    assert admitted(s.cycle(20)) == []
    assert kind(s, "head") is reasons.Kind.GANG_CANNOT_FIT
