"""The admission cycle, written as Kueue's recipe over one snapshot: take the pending jobs
(heads) → order them by the policy, priority first, fair share between queues → for each,
nominate (quota check, gang placement) → admit, or preempt victims to admit, or record why
not → requeue the rest with their reason. Usage is charged to the snapshot as jobs are
admitted, so later entries see it, and every what-if is undone exactly.

`Scheduler` owns the run state of every job; callers (the simulator, the live controller)
tell it about arrivals and completions and act on what a cycle returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from k8s4ai.scheduler import pods, snapshot
from k8s4ai.scheduler.admission import gang, policies, quota, reasons, workload

Gate = Callable[[workload.Workload], "reasons.Reason | None"]
"""An admission check outside quota and capacity (a budget, say): a reason to wait, or None."""


@dataclass(frozen=True, slots=True)
class Admitted:
    job: workload.Job
    start_at: float
    """When it starts running: later than the cycle when victims are still checkpointing."""
    victims: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Preempted:
    job: workload.Job
    by: str
    cause: str
    release_at: float
    lost: float
    """Seconds of progress the job lost (0 when it saved a checkpoint on notice)."""


@dataclass(slots=True)
class CycleResult:
    admitted: list[Admitted] = field(default_factory=list)
    preempted: list[Preempted] = field(default_factory=list)
    considered: int = 0


class Scheduler:
    def __init__(
        self,
        nodes: Sequence[snapshot.NodeSpec],
        queues: Iterable[quota.QueueQuota],
        policy: policies.Policy,
        rng: np.random.Generator,
        gates: Sequence[Gate] = (),
        held_queues: Iterable[str] = (),
    ) -> None:
        self.snap = snapshot.ClusterSnapshot(nodes)
        self.placer = gang.Placer(self.snap, rng)
        self.book = quota.QuotaBook(queues)
        self.policy = policy
        self.gates = tuple(gates)
        self.held_queues = set(held_queues)
        self.jobs: dict[str, workload.Job] = {}
        self.pending: dict[str, workload.Job] = {}
        self.running: dict[str, workload.Job] = {}
        self.capacity = self._capacity(nodes)

    @staticmethod
    def _capacity(nodes: Sequence[snapshot.NodeSpec]) -> dict[workload.ResourceKey, float]:
        capacity: dict[workload.ResourceKey, float] = {
            ("gpu", None): float(sum(n.gpus for n in nodes)),
            ("cpu", None): sum(n.cpu_milli for n in nodes) / 1000,
            ("memory", None): float(sum(n.memory_mib for n in nodes)),
        }
        for n in nodes:
            if n.gpus:
                key = ("gpu", n.gpu_model)
                capacity[key] = capacity.get(key, 0.0) + n.gpus
        return capacity

    # -- what callers tell the scheduler ------------------------------------------------

    def submit(self, wl: workload.Workload, work: float | None = None) -> workload.Job:
        if wl.name in self.jobs:
            raise ValueError(f"job {wl.name} is already known")
        job = workload.Job(wl, work=work, eligible_at=wl.submitted)
        self.jobs[wl.name] = job
        self.pending[wl.name] = job
        return job

    def finish(self, name: str, now: float) -> workload.Job:
        """The job completed (or was deleted): give back its GPUs and quota."""
        job = self.jobs[name]
        if job.phase in (workload.Phase.RUNNING, workload.Phase.PARTIAL):
            self._stop(job, now, keep_progress=True)
        self.pending.pop(name, None)
        self.running.pop(name, None)
        job.phase = workload.Phase.FINISHED
        self.policy.observe(job)
        return job

    def outranked(self, job: workload.Job, now: float) -> bool:
        """Whether a pending job that could run now ranks ahead of `job`: when a running
        job's rank worsens, only then can a cycle preempt it."""
        share = self.book.share
        mine = self.policy.rank(job, now, share(job.queue, self.capacity))
        return any(
            self.policy.rank(p, now, share(p.queue, self.capacity)) < mine
            for p in self.pending.values()
            if p.eligible_at <= now
        )

    # -- the cycle ----------------------------------------------------------------------

    def cycle(self, now: float) -> CycleResult:
        result = CycleResult()
        if not self.pending:
            return result
        shares = {q: self.book.share(q, self.capacity) for q in self.book.queues}
        ready: list[workload.Job] = []
        for job in self.pending.values():
            if job.eligible_at > now:
                job.reason = reasons.Reason(
                    reasons.Kind.NOT_YET_ELIGIBLE,
                    f"saving its checkpoint after a preemption until t={job.eligible_at:g}s",
                )
            else:
                ready.append(job)
        ranked = sorted(
            ((self.policy.rank(j, now, shares.get(j.queue, 0.0)), j.name, j) for j in ready),
            key=lambda item: (item[0], item[1]),
        )
        victims = _VictimIndex(self, now) if ranked else None
        blocked: set[str] = set()
        reserved: dict[str, reasons.Reason | None] = {}
        undo: list[gang.Undo] = []
        failed = _Failed()
        full = False
        smallest = _smallest_from(j.workload.gpus for _, _, j in ranked)
        try:
            for position, (rank, _, job) in enumerate(ranked):
                result.considered += 1
                reason = self._admissible(job, blocked)
                if reason is None and not self.policy.gang:
                    self._pod_by_pod(job, now, result)
                    continue
                if reason is None:
                    assert victims is not None
                    if full or self._cluster_full(job, rank, victims, smallest[position]):
                        full = True
                        reason = self._behind(job, result.considered - 1)
                    else:
                        reason = self._nominate(job, rank, now, result, victims, failed)
                if reason is None:
                    continue
                capacity = reason.kind in (
                    reasons.Kind.GANG_CANNOT_FIT,
                    reasons.Kind.FRAGMENTATION,
                )
                job.reason = (capacity and reserved.get(job.queue)) or reason
                if self.policy.strict_fifo:
                    blocked.add(job.queue)
                if self.policy.reserve and capacity and job.queue not in reserved:
                    free = int(self.snap.gpu_free.sum())
                    undo.append(self.placer.hold(job.workload))
                    held = (free - int(self.snap.gpu_free.sum())) / pods.MILLI
                    reserved[job.queue] = _behind_head(job, held) if held else None
                    failed.clear()
        finally:
            for step in reversed(undo):
                step()
        return result

    def _cluster_full(
        self, job: workload.Job, rank: policies.Rank, victims: _VictimIndex, smallest: float
    ) -> bool:
        """Fewer GPUs are free than the smallest job from here on needs, and nothing may be
        preempted for this job nor (jobs being in rank order, priority first) for any job
        after it: the rest of the cycle can be skipped."""
        if self.snap.gpu_free.sum() >= smallest * pods.MILLI:
            return False
        if any(self.book.is_borrowing(q) for q in self.book.queues):
            return False
        return not victims.may_preempt(job, rank)

    def _behind(self, job: workload.Job, ahead: int) -> reasons.Reason:
        check = self.book.check(job.queue, job.workload.usage())
        if check.mode < quota.Mode.BORROW:
            return self._quota_reason(job, check)
        wl = job.workload
        want = wl.gpus
        have = float(self.snap.gpu_free.sum()) / pods.MILLI
        queued = f", and {ahead} job(s) ranked ahead of it wait too" if ahead else ""
        return reasons.Reason(
            reasons.Kind.GANG_CANNOT_FIT,
            f"needs {want:g} GPUs for {wl.gang_size} pods at once; {have:g} are free{queued}",
            "GpuFit",
            {"needGpus": want, "freeGpus": have, "ahead": ahead},
        )

    def _admissible(self, job: workload.Job, blocked: set[str]) -> reasons.Reason | None:
        queue = job.queue
        if self.policy.gang and queue not in self.book.queues:
            return reasons.Reason(reasons.Kind.QUEUE_MISSING, f"queue {queue} does not exist")
        if queue in self.held_queues:
            return reasons.Reason(reasons.Kind.QUEUE_HELD, f"queue {queue} is held")
        if queue in blocked:
            return reasons.Reason(
                reasons.Kind.BLOCKED_BY_HEAD,
                f"queue {queue} is strict FIFO and an earlier job cannot be admitted yet",
            )
        for gate in self.gates:
            reason = gate(job.workload)
            if reason is not None:
                return reason
        return None

    def _nominate(
        self,
        job: workload.Job,
        rank: policies.Rank,
        now: float,
        result: CycleResult,
        victims: _VictimIndex,
        failed: _Failed,
    ) -> reasons.Reason | None:
        wl = job.workload
        usage = wl.usage()
        check = self.book.check(wl.queue, usage)
        capacity_reason: reasons.Reason | None = None
        if check.mode >= quota.Mode.BORROW:
            key = self.placer.key(wl)
            cached = failed.placing.get(key)
            if cached is not None:
                capacity_reason = gang.told_to(wl, *cached)
            else:
                placed = self._try_place(job)
                if isinstance(placed, gang.Refused):
                    capacity_reason = placed.reason
                    failed.placing[key] = (capacity_reason, wl)
                else:
                    self._start(job, placed, now, now)
                    result.admitted.append(Admitted(job, now))
                    failed.clear()
                    return None
        if capacity_reason is not None and capacity_reason.kind is reasons.Kind.UNSCHEDULABLE:
            return capacity_reason
        if self._preempt_for(job, rank, check, now, result, victims, failed):
            failed.clear()
            return None
        if check.mode < quota.Mode.BORROW:
            return self._quota_reason(job, check)
        assert capacity_reason is not None
        return capacity_reason

    @staticmethod
    def _quota_reason(job: workload.Job, check: quota.Check) -> reasons.Reason:
        return reasons.Reason(
            reasons.Kind.QUOTA,
            check.message,
            "QuotaBook",
            {"queue": job.queue, "resource": quota.describe_key(check.key) if check.key else ""},
        )

    def _try_place(self, job: workload.Job) -> list[workload.Placed] | gang.Refused:
        wl = job.workload
        need = sorted((p.gpu_request_milli for p in wl.pods), reverse=True)[: wl.gang_size]
        if sum(need) > self.snap.gpu_free.sum():
            return gang.Refused(
                reasons.Reason(
                    reasons.Kind.GANG_CANNOT_FIT,
                    f"needs {sum(need) / pods.MILLI:g} GPUs for {wl.gang_size} pods at once; "
                    f"{self.snap.gpu_free.sum() / pods.MILLI:g} are free",
                    "GpuFit",
                    {
                        "needGpus": sum(need) / pods.MILLI,
                        "freeGpus": self.snap.gpu_free.sum() / pods.MILLI,
                    },
                )
            )
        return self.placer.place(wl)

    # -- preemption ---------------------------------------------------------------------

    def _preempt_for(
        self,
        job: workload.Job,
        rank: policies.Rank,
        check: quota.Check,
        now: float,
        result: CycleResult,
        index: _VictimIndex,
        failed: _Failed,
    ) -> bool:
        """Release candidates in order until the job fits, then keep only the victims it
        needs. Skipped without a what-if when even all candidates gone would leave too few
        GPUs, or too few nodes with enough whole GPUs for its pods. A later job of the same
        queue, priority and shape ranks no better, so its candidates are a subset of this
        one's: once that test fails, it fails for them too until the next admission."""
        wl = job.workload
        hopeless = (wl.queue, wl.priority, check.mode, self.placer.key(wl))
        if hopeless in failed.hopeless:
            return False
        candidates = index.candidates(job, rank, check)
        need, free = wl.gpus, int(self.snap.gpu_free.sum())
        room = self._room(wl, candidates, free)
        if room is None:
            failed.hopeless.add(hopeless)
            return False
        tried = (
            wl.queue,
            wl.accelerator_class,
            check.mode,
            self.placer.key(wl),
            tuple(v.name for v, _ in candidates),
        )
        if tried in failed.preempting:
            return False
        usage = wl.usage()
        chosen: list[tuple[workload.Job, str]] = []
        uncharged = 0
        placed: list[workload.Placed] | gang.Refused = gang.Refused(
            reasons.Reason(reasons.Kind.GANG_CANNOT_FIT, "")
        )
        for victim, cause in candidates:
            self.placer.release(victim.placed)
            room.release(victim.placed)
            free += sum(p.pod.gpu_request_milli for p in victim.placed)
            chosen.append((victim, cause))
            if free / pods.MILLI + 1e-9 < need or not room.fits():
                continue
            # Quota is handed back only once the GPUs would do: it costs more than counting.
            for v, _ in chosen[uncharged:]:
                self.book.uncharge(v.queue, v.workload.usage())
            uncharged = len(chosen)
            if self.book.check(wl.queue, usage).mode < quota.Mode.BORROW:
                continue
            placed = self.placer.place(wl)
            if not isinstance(placed, gang.Refused):
                break
        if isinstance(placed, gang.Refused):
            for victim, _ in reversed(chosen[:uncharged]):
                self.book.charge(victim.queue, victim.workload.usage())
            for victim, _ in reversed(chosen):
                self.placer.restore(victim.placed)
            failed.preempting.add(tried)
            return False
        self.book.charge(wl.queue, usage)  # spared victims must fit beside the job's quota
        kept = self._spare(chosen[:-1], {p.node for p in placed})
        self.book.uncharge(wl.queue, usage)
        chosen = [c for c in chosen if c[0].name not in kept]
        start_at = now
        victim_names = []
        for victim, cause in chosen:
            release_at, lost = self._preempt(victim, now, by=wl.name, cause=cause)
            index.remove(victim)
            result.preempted.append(Preempted(victim, wl.name, cause, release_at, lost))
            start_at = max(start_at, release_at)
            victim_names.append(victim.name)
        self._start(job, placed, now, start_at)
        result.admitted.append(Admitted(job, start_at, tuple(victim_names)))
        return True

    def _room(
        self,
        wl: workload.Workload,
        candidates: Sequence[tuple[workload.Job, str]],
        free: int,
    ) -> gang.Room | None:
        """None when even with every candidate gone too few GPUs would be free, or too few
        nodes would have enough whole GPUs for the job's pods."""
        if not candidates:
            return None
        if wl.gpus > sum(v.workload.gpus for v, _ in candidates) + free / pods.MILLI + 1e-9:
            return None
        room = gang.Room(self.snap, wl)
        return room if room.fits_without(p for v, _ in candidates for p in v.placed) else None

    def _spare(self, chosen: Sequence[tuple[workload.Job, str]], taken: set[int]) -> set[str]:
        """Victims the admitted job turned out not to need: put back any whose GPUs are still
        free and whose queue can take its quota back, last chosen first. On a node the job
        did not take (`taken`), every victim had room before, so it has room again."""
        kept: set[str] = set()
        for victim, _ in reversed(chosen):
            free = all(
                p.node not in taken
                or (
                    (self.snap.gpu_free[p.node, list(p.gpus)] >= p.pod.gpu_milli).all()
                    and self.snap.cpu_free[p.node] >= p.pod.cpu_milli
                    and self.snap.memory_free[p.node] >= p.pod.memory_mib
                )
                for p in victim.placed
            )
            if not free:
                continue
            usage = victim.workload.usage()
            if self.book.check(victim.queue, usage).mode < quota.Mode.BORROW:
                continue
            self.book.charge(victim.queue, usage)
            self.placer.restore(victim.placed)
            kept.add(victim.name)
        return kept

    def _preempt(
        self, victim: workload.Job, now: float, by: str, cause: str
    ) -> tuple[float, float]:
        """Stop `victim` (its GPUs and quota are already released). Returns when its GPUs are
        actually free (after it saves on notice) and the progress it lost."""
        ckpt = victim.workload.checkpointing
        before = victim.done_at(now)
        self._account(victim, now)
        if not ckpt.saves_on_notice():
            victim.done = _last_checkpoint(before, ckpt.interval)
        lost = before - victim.done
        release_at = now + (ckpt.write if ckpt.saves_on_notice() else 0.0)
        victim.placed = []
        victim.phase = workload.Phase.PENDING
        victim.eligible_at = release_at
        victim.preemptions += 1
        victim.restarts += 1
        self.running.pop(victim.name, None)
        self.pending[victim.name] = victim
        victim.reason = reasons.Reason(
            reasons.Kind.PREEMPTED,
            f"preempted by {by} ({cause}) at t={now:g}s; lost {lost:g}s of progress",
            "Preemption",
            {"by": by, "cause": cause, "at": now, "lost": lost},
        )
        return release_at, lost

    # -- run-state bookkeeping ----------------------------------------------------------

    def _start(
        self, job: workload.Job, placed: list[workload.Placed], now: float, start_at: float
    ) -> None:
        wl = job.workload
        self.book.charge(wl.queue, wl.usage())
        for p in placed:
            p.at = now
        job.placed = placed
        self._run(job, start_at)

    def _run(self, job: workload.Job, start_at: float) -> None:
        job.phase = workload.Phase.RUNNING
        job.started = start_at
        restore = job.workload.checkpointing.restore if job.restarts else 0.0
        job.progress_from = start_at + restore
        if job.first_started is None:
            job.first_started = start_at
        job.reason = None
        self.pending.pop(job.name, None)
        self.running[job.name] = job

    def _account(self, job: workload.Job, now: float) -> None:
        job.done = job.done_at(now)
        job.attained = job.attained_at(now)
        if job.started is not None:
            job.last_ran = max(0.0, now - job.started)
        job.last_stopped = now
        job.started = None
        job.progress_from = None

    def _stop(self, job: workload.Job, now: float, keep_progress: bool) -> None:
        if job.phase is workload.Phase.RUNNING:
            self._account(job, now)
            if self.policy.gang:
                self.book.uncharge(job.queue, job.workload.usage())
        self.placer.release(job.placed)
        job.placed = []

    def _pod_by_pod(self, job: workload.Job, now: float, result: CycleResult) -> None:
        wl = job.workload
        missing = len(wl.pods) - len(job.placed)
        new = self.placer.place_pods(wl, missing)
        for p in new:
            p.at = now
        job.placed.extend(new)
        if len(job.placed) == len(wl.pods):
            job.idle_held += sum(
                p.pod.gpu_request_milli / pods.MILLI * (now - p.at) for p in job.placed
            )
            self._run(job, now)
            result.admitted.append(Admitted(job, now))
            return
        job.phase = workload.Phase.PARTIAL if job.placed else workload.Phase.PENDING
        job.reason = reasons.Reason(
            reasons.Kind.GANG_CANNOT_FIT,
            f"{len(job.placed)} of {len(wl.pods)} pods placed; the rest wait for GPUs",
            "PodByPod",
        )


def _behind_head(head: workload.Job, held: float) -> reasons.Reason:
    """Why a job of `head`'s queue that GPUs do not fit waits: the free GPUs it would take
    are held for the head, which goes first."""
    return reasons.Reason(
        reasons.Kind.BLOCKED_BY_HEAD,
        f"{head.name}, ahead of it in queue {head.queue}, cannot start yet and holds "
        f"{held:g} free GPUs it waits for; jobs behind it do not take them",
        "Reservation",
        {"head": head.name, "heldGpus": held},
    )


def _smallest_from(gpus: Iterable[float]) -> list[float]:
    """For each position, the fewest GPUs any job from there to the end asks for."""
    out = list(gpus)
    for i in range(len(out) - 2, -1, -1):
        out[i] = min(out[i], out[i + 1])
    return out


def _last_checkpoint(progress: float, interval: float | None) -> float:
    if not interval:
        return 0.0
    return math.floor(progress / interval) * interval


@dataclass(slots=True)
class _Failed:
    """What failed since the cycle last admitted a job: the snapshot and the quota book are
    as they were then (every what-if is undone), so the same attempt would fail again."""

    placing: dict[tuple[object, ...], tuple[reasons.Reason, workload.Workload]] = field(
        default_factory=dict
    )
    """Refusals by placer key, with the job they were given to."""
    preempting: set[tuple[object, ...]] = field(default_factory=set)
    """Preemptions by queue, quota flavor, mode, placer key and candidates in order."""
    hopeless: set[tuple[object, ...]] = field(default_factory=set)
    """Preemptions too few candidates could make room for, by queue, priority, mode and
    placer key."""

    def clear(self) -> None:
        self.placing.clear()
        self.preempting.clear()
        self.hopeless.clear()


@dataclass(slots=True)
class _Victim:
    job: workload.Job
    rank: policies.Rank
    ripe: bool
    loss: float
    ran: float
    order: int = 0
    """Place among all victims by priority, then worst rank, then least loss."""
    alive: bool = True


class _VictimIndex:
    """Running jobs as potential victims, ranked once per cycle and kept by queue: a job only
    ever preempts in its own queue or from borrowers of its cohort, so it looks at no other
    queue's jobs, and an order computed once serves every candidate list."""

    def __init__(self, scheduler: Scheduler, now: float) -> None:
        self.s = scheduler
        self.now = now
        self.shares = {
            q: scheduler.book.share(q, scheduler.capacity) for q in scheduler.book.queues
        }
        self._running = list(scheduler.running.values())
        """Running when the cycle began: jobs it admits are never its victims."""
        self._built = False
        self._by_name: dict[str, _Victim] = {}
        self._by_queue: dict[str, dict[str, _Victim]] = {}
        self._by_order: list[_Victim] = []
        self._ripe_worst_first: list[_Victim] = []
        self._lowest_at = 0
        self._worst_at = 0

    def _build(self) -> None:
        """On first use: most cycles never look at a victim."""
        self._built = True
        if not self.s.policy.gang:
            return
        entries: list[_Victim] = []
        for job in self._running:
            if job.phase is workload.Phase.RUNNING:
                rank = self.s.policy.rank(job, self.now, self.shares.get(job.queue, 0.0))
                ran = self.now - job.started if job.started is not None else 0.0
                entries.append(_Victim(job, rank, self.ripe(job), self.loss(job), ran))
        # Stable: equal keys keep the order the jobs started running in.
        entries.sort(key=lambda v: (v.job.workload.priority, tuple(-x for x in v.rank), v.loss))
        for order, v in enumerate(entries):
            v.order = order
            self._by_name[v.job.name] = v
            self._by_queue.setdefault(v.job.queue, {})[v.job.name] = v
        self._by_order = entries
        self._ripe_worst_first = sorted(
            (v for v in entries if v.ripe), key=lambda v: v.rank, reverse=True
        )

    def _alive(self) -> bool:
        if not self._built:
            self._build()
        return bool(self._by_name)

    def _worst(self) -> tuple[policies.Rank, int]:
        """The worst rank among ripe running jobs and the lowest priority among all: a job
        ranked no better and of no higher priority can only preempt by reclaiming."""
        while self._lowest_at < len(self._by_order) and not self._by_order[self._lowest_at].alive:
            self._lowest_at += 1
        ripe = self._ripe_worst_first
        while self._worst_at < len(ripe) and not ripe[self._worst_at].alive:
            self._worst_at += 1
        lowest = (
            self._by_order[self._lowest_at].job.workload.priority
            if self._lowest_at < len(self._by_order)
            else 0
        )
        worst = ripe[self._worst_at].rank if self._worst_at < len(ripe) else ()
        return worst, lowest

    def may_preempt(self, job: workload.Job, rank: policies.Rank) -> bool:
        """Whether any running job could be a victim of `job` by priority or rank."""
        if not self._alive():
            return False
        worst, lowest = self._worst()
        if job.workload.priority > lowest:
            return True
        return self.s.policy.preemptive and rank < worst

    def remove(self, job: workload.Job) -> None:
        v = self._by_name.pop(job.name, None)
        if v is not None:
            v.alive = False
            del self._by_queue[job.queue][job.name]

    def candidates(
        self, job: workload.Job, rank: policies.Rank, check: quota.Check
    ) -> list[tuple[workload.Job, str]]:
        """Who may be preempted for `job`, in the order to try them: borrowers first, then
        lower priority, then worst rank, then least work lost. From its own queue: lower
        priorities, and equal ones it outranks; from other queues of its cohort, only
        borrowers: all of them when it reclaims, else those it outranks at no higher
        priority while its queue's share is no larger."""
        s = self.s
        reclaiming = check.mode >= quota.Mode.RECLAIM and check.mode != quota.Mode.BORROW
        if not self._alive() or (not reclaiming and not self.may_preempt(job, rank)):
            return []
        wl = job.workload
        priority, preemptive, gpus = wl.priority, s.policy.preemptive, wl.gpus
        mine = self.shares.get(wl.queue, 0.0)
        borrowed: list[tuple[_Victim, str]] = []
        own: list[tuple[_Victim, str]] = []
        for queue in s.book.members(wl.queue):
            bucket = self._by_queue.get(queue)
            if not bucket:
                continue
            borrowing = s.book.is_borrowing(queue)
            if queue == wl.queue:
                out = borrowed if borrowing else own
                for v in bucket.values():
                    vp = v.job.workload.priority
                    if vp < priority:
                        out.append((v, "priority"))
                    elif (
                        preemptive
                        and vp == priority
                        and v.ripe
                        and rank < v.rank
                        and self.worth(v, gpus)
                    ):
                        out.append((v, "rank"))
            elif borrowing and reclaiming:
                borrowed.extend((v, "reclaim") for v in bucket.values())
            elif borrowing and preemptive and mine <= self.shares.get(queue, 0.0):
                borrowed.extend(
                    (v, "rank")
                    for v in bucket.values()
                    if v.ripe
                    and v.job.workload.priority <= priority
                    and rank < v.rank
                    and self.worth(v, gpus)
                )
        borrowed.sort(key=lambda c: c[0].order)
        return [(v.job, cause) for v, cause in borrowed + own]

    def ripe(self, victim: workload.Job) -> bool:
        """Whether the victim has run long enough that preempting it for rank delays it less
        than it saves the preemptor. The victim's delay is checkpoint, restore and unsaved
        work; the preemptor's saving is the wait it avoids, the victim's remaining run,
        which on heavy-tailed job lengths is about as long as it has run so far."""
        ran = self.now - victim.started if victim.started is not None else 0.0
        return ran >= self.s.policy.min_run_ratio * self.overhead(victim)

    def worth(self, victim: _Victim, gpus: float) -> bool:
        """Whether preempting `victim` for rank gains a job of `gpus` GPUs at least what the
        victim loses, in GPU-seconds: the victim's loss is its delay on all its GPUs; the
        gain is the preemptor's GPUs × the wait it avoids, estimated as in `ripe`. Without
        it a 1-GPU job could take 64 GPUs from a job that had run only 4 × its overhead. A
        policy that weighs no cost (`min_run_ratio` 0) preempts regardless."""
        return not self.s.policy.min_run_ratio or victim.loss <= gpus * victim.ran

    def overhead(self, victim: workload.Job) -> float:
        ckpt = victim.workload.checkpointing
        saved = ckpt.write if ckpt.saves_on_notice() else victim.unsaved_at(self.now)
        return saved + ckpt.restore

    def loss(self, victim: workload.Job) -> float:
        return victim.workload.gpus * self.overhead(victim)
