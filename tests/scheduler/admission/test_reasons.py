"""The reasons a cycle gives the jobs it leaves waiting: that they name the job's own pods
and the job really in their way."""

from __future__ import annotations

from k8s4ai.scheduler.admission import cycle, reasons
from tests.scheduler.admission import builders as b


def reason(s: cycle.Scheduler, name: str) -> reasons.Reason:
    found = s.jobs[name].reason
    assert isinstance(found, reasons.Reason), f"{name} has no reason"
    return found


def test_a_refusal_shared_by_jobs_of_one_shape_names_each_ones_pod() -> None:
    s = b.scheduler(b.nodes(2), [b.queue("a", gpu=None)], "besteffort-fifo")
    for name, at in (("first", 0.0), ("second", 1.0)):
        s.submit(b.job(name, gpus=16, per_pod=16, submitted=at))
    s.cycle(2)
    for name in ("first", "second"):
        got = reason(s, name)
        assert got.kind is reasons.Kind.UNSCHEDULABLE
        assert got.message.startswith(f"pod {name}-0 needs 16 GPUs on one node"), got.message


def test_a_job_behind_a_reserving_head_is_blocked_by_it() -> None:
    """Two 8-GPU nodes, one full, one with 4 GPUs busy. The head needs a whole node and
    holds the one that frees first; the 4-GPU job behind it would fit in the 4 free GPUs
    but for the hold, so it waits for the head, not for GPUs to free up."""
    s = b.scheduler(b.nodes(2), [b.queue("a", gpu=None)], "k8s4ai")
    for wl in (b.job("half", gpus=4), b.job("whole", submitted=0.5)):
        s.submit(wl)
    s.cycle(1)
    for wl in (b.job("head", submitted=1), b.job("backfill", gpus=4, submitted=2)):
        s.submit(wl)
    s.cycle(10)

    assert reason(s, "head").kind is reasons.Kind.GANG_CANNOT_FIT
    got = reason(s, "backfill")
    assert got.kind is reasons.Kind.BLOCKED_BY_HEAD, got
    assert "head" in got.message and "holds" in got.message, got.message
    assert got.details["head"] == "head"


def test_another_queues_job_is_not_blocked_by_a_head_it_is_not_behind() -> None:
    s = b.scheduler(b.nodes(2), [b.queue("a", gpu=None), b.queue("b", gpu=None)], "k8s4ai")
    for wl in (b.job("half", gpus=4), b.job("whole", submitted=0.5)):
        s.submit(wl)
    s.cycle(1)
    for wl in (b.job("head", submitted=1), b.job("other", queue="b", gpus=4, submitted=2)):
        s.submit(wl)
    s.cycle(10)
    assert reason(s, "other").kind is not reasons.Kind.BLOCKED_BY_HEAD
