"""The live admission controller: each pass rebuilds the scheduler from the store, runs one
admission cycle and writes back what it decided — gangs admitted (with the nodes of each pod
set), preempted or pending with the reason why, queues' counts and usage — with an Event for
each admission, preemption and lost placement.

`plan` is a pure function from objects and a time to the status changes, so it is tested
without a store; `AdmissionController` runs it against one, on every write and every
`period_seconds` (decisions also change with time: a victim's checkpoint completes, a job
drops a priority level). The clock is injected; nothing here reads the time itself.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from k8s4ai.api import (
    accelerator,
    budget,
    checkpoint,
    gang,
    inference,
    node,
    queue,
    resource,
)
from k8s4ai.controllers import (
    admission_state,
    admission_status,
    events,
    runner,
)
from k8s4ai.scheduler.admission import policies, reasons, workload
from k8s4ai.store import errors, interface

log = logging.getLogger(__name__)

KINDS: tuple[type[resource.Resource], ...] = (
    node.Node,
    accelerator.AcceleratorClass,
    queue.Queue,
    budget.Budget,
    checkpoint.CheckpointPolicy,
    gang.GangSchedulingGroup,
    inference.InferenceService,
)
"""What a pass reads."""


@dataclass(frozen=True, slots=True)
class Change:
    object: resource.Resource
    """The object with its new status."""
    notes: tuple[events.Note, ...] = ()
    needs: tuple[tuple[str, str, str], ...] = ()
    """Objects (keys) whose changes must be written first: an admission waits for its
    victims' preemptions, so a failed write never leaves two jobs on the same GPUs."""


def plan(
    objs: Sequence[resource.Resource], now: datetime, policy: policies.Policy, seed: int = 0
) -> list[Change]:
    """The status changes one admission cycle at `now` makes: preemptions first, then
    admissions, then jobs still waiting, then queues. Objects already right are left out."""
    state = admission_state.build(objs, now, policy, seed)
    result = state.scheduler.cycle(now.timestamp())
    names = [n.metadata.name for n in state.nodes]
    sched = state.scheduler
    preempted = {p.job.name: p for p in result.preempted}
    admitted = {a.job.name: a for a in result.admitted if a.job.name not in preempted}
    first: list[Change] = []
    then: list[Change] = []
    rest: list[Change] = []
    for key, g in state.gangs.items():
        job = sched.jobs.get(key)
        status: gang.GangSchedulingGroupStatus
        notes: tuple[events.Note, ...] = ()
        if key in preempted:
            status, message = admission_status.preempted(g, preempted[key], now)
            first.append(_change(g, status, (events.Note("Preempted", message, "Warning"),)))
            continue
        if key in admitted:
            adm = admitted[key]
            status, message = admission_status.admitted(g, adm, names, now)
            victims = tuple(state.gangs[v].key for v in adm.victims if v in state.gangs)
            notes = (events.Note("Admitted", message),)
            if key in state.requeued:
                notes = (_requeued(state.requeued[key]), *notes)
            then.append(_change(g, status, notes, victims))
            continue
        if key in state.suspended:
            message = "spec.suspend is true: the job is not considered for admission"
            status = admission_status.pending(g, "Suspended", message, now)
        elif job is None or job.phase is not workload.Phase.PENDING:
            continue  # running where its status says, finished, or orphaned: nothing new
        else:
            reason = job.reason if isinstance(job.reason, reasons.Reason) else None
            kind = reason.kind.value if reason else "Pending"
            text = admission_status.describe(reason, job) if reason else "not considered yet"
            status = admission_status.pending(g, kind, text, now)
            if key in state.requeued:
                notes = (_requeued(state.requeued[key]),)
        rest.append(_change(g, status, notes))
    stored = {o.key: o.status.model_dump() for o in objs}
    return [
        c
        for c in (*first, *then, *rest, *_queue_changes(objs, state, now))
        if c.notes or c.object.status.model_dump() != stored.get(c.object.key)
    ]


def _requeued(why: str) -> events.Note:
    return events.Note(
        "Requeued", f"its placement is gone ({why}); it waits to be admitted again", "Warning"
    )


def _change(
    g: gang.GangSchedulingGroup,
    status: gang.GangSchedulingGroupStatus,
    notes: tuple[events.Note, ...] = (),
    needs: tuple[tuple[str, str, str], ...] = (),
) -> Change:
    return Change(g.model_copy(update={"status": status}), notes, needs)


def _queue_changes(
    objs: Sequence[resource.Resource], state: admission_state.State, now: datetime
) -> list[Change]:
    sched = state.scheduler
    waiting: Counter[str] = Counter(
        j.queue for j in sched.jobs.values() if j.phase is workload.Phase.PENDING
    )
    waiting.update(state.gangs[k].spec.queue for k in state.suspended)
    waiting.update(
        o.spec.queue for o in objs if isinstance(o, inference.InferenceService) and o.spec.queue
    )
    running = Counter(j.queue for j in sched.running.values())
    out = []
    for name, q in state.queues.items():
        status = admission_status.queue_status(q, sched.book, waiting[name], running[name], now)
        out.append(Change(q.model_copy(update={"status": status})))
    return out


class AdmissionController:
    """Runs `plan` against a store. `policy` names the queueing policy (policies.POLICIES)."""

    def __init__(
        self,
        store: interface.Store,
        clock: runner.Clock = runner.wall_clock,
        policy: str = policies.DEFAULT,
        seed: int = 0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._policy = policies.get(policy)
        self._seed = seed

    def _objects(self) -> list[resource.Resource]:
        return [obj for kind in KINDS for obj in self._store.list(kind.kind_name).items]

    def run_once(self) -> int:
        """One cycle; returns how many statuses it wrote. A write that conflicts (someone
        wrote first) is skipped, with every admission that needed it: the next pass sees
        their write and decides again."""
        now = self._clock()
        written = 0
        failed: set[tuple[str, str, str]] = set()
        for change in plan(self._objects(), now, self._policy, self._seed):
            if failed.intersection(change.needs):
                continue
            try:
                self._store.replace(change.object, subresource="status")
            except (errors.Conflict, errors.NotFound):
                failed.add(change.object.key)
                continue
            written += 1
            for note in change.notes:
                events.record(self._store, change.object, note.reason, note.message, now, note.type)
        return written

    def run(
        self, stop: threading.Event, poll_seconds: float = 1.0, period_seconds: float = 10.0
    ) -> None:
        """Until `stop`: a pass after every write to the store, and every `period_seconds`."""
        seen, last = -1, None
        while not stop.is_set():
            latest, now = self._store.resource_version(), self._clock()
            due = last is None or (now - last).total_seconds() >= period_seconds
            if latest != seen or due:
                try:
                    self.run_once()
                except errors.StoreError:
                    log.exception("admission pass failed; retrying")
                seen, last = self._store.resource_version(), now
            self._store.wait(seen, timeout=poll_seconds)
