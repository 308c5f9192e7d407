"""The kubelet and job controller of the live simulated cluster: what happens to gangs once
admission has placed them.

An admitted gang starts running at its `startTime` (later than its admission when victims
were still saving), its progress grows with time (`live_progress`), it checkpoints per its
CheckpointPolicy and succeeds when its work is done, which ends its hold on the GPUs
(admission counts only Admitted and Running gangs as holding nodes). Some attempts end early
(`live_failures`): a permanent failure leaves the gang Failed with the pod's reason and exit
code; a retryable one (exit 143, or its node going NotReady) sends it back to its queue from
its last checkpoint, as a Job's backoff limit would, until the policy's `maxRestarts`. Nodes
go NotReady and come back, tainted meanwhile the way the node lifecycle controller taints
them, so admission places nothing new there.

`step` is a function from the objects and a time to the writes to make; the runtime's only
memory is which nodes are down and when it last wrote each job's progress, so a lost write is
simply made again on the next step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from k8s4ai.api import checkpoint, gang, node, resource
from k8s4ai.api.units import Quantity
from k8s4ai.backends.sim import live_failures, live_progress
from k8s4ai.controllers import conditions, events

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
NOT_READY = "KubeletNotReady"
DEFAULT_RESTARTS = 3
"""Restarts allowed to a job without a CheckpointPolicy (Kubernetes Jobs allow 6)."""

Write = Literal["spec", "status"]


@dataclass(frozen=True, slots=True)
class Change:
    """An object to write (`writes` in order: a spec write, then its status), and the Events
    to record once it is written."""

    object: resource.Resource
    writes: tuple[Write, ...] = ("status",)
    notes: tuple[events.Note, ...] = ()


class Runtime:
    def __init__(
        self,
        speed: float,
        seed: int,
        rng: np.random.Generator,
        rates: live_failures.Rates = live_failures.DEFAULT,
        refresh_seconds: float = 10.0,
    ) -> None:
        """`refresh_seconds`: how often (wall) a running job's progress is written at most;
        starts, checkpoints and ends are written at once."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self.speed = speed
        self._seed = seed
        self._rates = rates
        self._failures = rates.hardware()
        self._refresh = refresh_seconds
        self.faults = live_failures.NodeFaults(rng, speed, rates)
        self._last_step: float | None = None
        self._written: dict[str, float] = {}

    def rest(self, until: datetime) -> None:
        """No node fails before `until` (the warm-up skipping time it had no time for)."""
        self._last_step = live_progress.seconds(until)

    def step(self, objs: Sequence[resource.Resource], now: datetime) -> list[Change]:
        at = live_progress.seconds(now)
        first = self._last_step is None
        elapsed = 0.0 if self._last_step is None else max(0.0, at - self._last_step)
        self._last_step = at
        nodes = [o for o in objs if isinstance(o, node.Node)]
        changes = self._nodes(nodes, at, elapsed, now, first)
        policies = {
            (o.metadata.namespace, o.metadata.name): o
            for o in objs
            if isinstance(o, checkpoint.CheckpointPolicy)
        }
        for g in objs:
            if not isinstance(g, gang.GangSchedulingGroup):
                continue
            policy = policies.get((g.metadata.namespace, g.spec.checkpoint_policy or ""))
            change = self._gang(g, policy, at, now)
            if change is not None:
                changes.append(change)
        return changes

    def _nodes(
        self, nodes: list[node.Node], at: float, elapsed: float, now: datetime, first: bool
    ) -> list[Change]:
        """Nodes failing and coming back. On its first step the runtime learns which nodes
        an earlier run left NotReady; later, its own record is the truth the store follows."""
        for n in nodes if first else ():
            ready = n.status.condition("Ready")
            if ready is not None and ready.status == "False" and ready.reason == NOT_READY:
                self.faults.known_down(n.metadata.name, at)
        self.faults.step([n.metadata.name for n in nodes], at, elapsed)
        changes = []
        for n in nodes:
            name = n.metadata.name
            down = name in self.faults.down
            shown_down, shown_up = _tainted(n) and not _ready(n), not _tainted(n) and _ready(n)
            if (down and shown_down) or (not down and shown_up):
                continue
            if down:
                message = "kubelet stopped posting node status (simulated failure)"
                note = events.Note("NodeNotReady", f"node {name} is NotReady: {message}", "Warning")
            else:
                message = "kubelet is posting ready status"
                note = events.Note("NodeReady", f"node {name} is Ready again")
            changes.append(_node_change(n, down, message, now, note))
        return changes

    def _gang(
        self,
        g: gang.GangSchedulingGroup,
        policy: checkpoint.CheckpointPolicy | None,
        at: float,
        now: datetime,
    ) -> Change | None:
        phase = g.status.phase
        if phase == "Preempted":
            return self._preempted(g, policy)
        if phase not in ("Admitted", "Running") or not g.status.assignments:
            return None
        lost = sorted({n for a in g.status.assignments for n in a.nodes} & set(self.faults.down))
        if phase == "Admitted":
            if lost:
                return self._stop(g, policy, "NodeFailure", None, at, g.status.progress, lost)
            started = g.status.start_time
            if started is None or live_progress.seconds(started) > at:
                return None
            return self._start(g, policy, started)
        run = live_progress.attempt(g, policy, self.speed, self._failures)
        fate = self._fate(g)
        work, started = live_progress.work_seconds(g), g.status.start_time
        fail_time = (
            live_progress.seconds(started) + fate.after * work / self.speed
            if fate is not None and work is not None and started is not None
            else None
        )
        outcome = (
            live_progress.Outcome(g.status.progress)
            if run is None
            else live_progress.advance(run, at, fail_time)
        )
        if lost and outcome.finished is None and outcome.failed is None:
            return self._stop(g, policy, "NodeFailure", None, at, outcome.progress, lost)
        status = g.status
        if outcome.checkpoint is not None:
            saved, progress = outcome.checkpoint
            status = status.model_copy(
                update={
                    "last_checkpoint_time": live_progress.moment(saved),
                    "checkpoint_progress": progress,
                }
            )
            g = g.model_copy(update={"status": status})
        if outcome.failed is not None and fate is not None:
            exit_code = fate.exit_code
            return self._stop(
                g, policy, fate.reason, exit_code, outcome.failed, outcome.progress, [], fate
            )
        if outcome.finished is not None:
            done = status.model_copy(
                update={
                    "phase": "Succeeded",
                    "progress": 1.0,
                    "completion_time": live_progress.moment(outcome.finished),
                    "reason": "Completed",
                    "exit_code": 0,
                }
            )
            self._written.pop(g.key[2], None)
            note = events.Note("Completed", f"job completed after {g.status.restarts} restart(s)")
            return Change(g.model_copy(update={"status": done}), notes=(note,))
        key = g.key[2]
        due = at - self._written.get(key, -float("inf")) >= self._refresh
        moved = outcome.progress - g.status.progress >= 0.001
        if outcome.checkpoint is None and not (due and moved):
            return None
        self._written[key] = at
        status = status.model_copy(update={"progress": round(outcome.progress, 4)})
        return Change(g.model_copy(update={"status": status}))

    def _fate(self, g: gang.GangSchedulingGroup) -> live_failures.Fate | None:
        """Only generated jobs (those whose work is annotated) fail on their own."""
        if live_progress.WORK not in g.metadata.annotations:
            return None
        uid = g.metadata.uid or g.key[2]
        return live_failures.fate(self._seed, uid, g.status.restarts, self._rates)

    def _start(
        self,
        g: gang.GangSchedulingGroup,
        policy: checkpoint.CheckpointPolicy | None,
        started: datetime,
    ) -> Change:
        uid = g.metadata.uid or g.key[2]
        share = live_failures.memory_share(self._seed, uid, g.status.restarts)
        progress = live_progress.resume_point(g, policy)
        status = g.status.model_copy(
            update={
                "phase": "Running",
                "progress": progress,
                "completion_time": None,
                "peak_memory": _peak(g, share),
            }
        )
        where = f" from its checkpoint at {progress:.0%}" if progress > 0 else ""
        note = events.Note("Started", f"all {g.spec.total_pods()} pod(s) running{where}")
        return Change(g.model_copy(update={"status": status}), notes=(note,))

    def _stop(
        self,
        g: gang.GangSchedulingGroup,
        policy: checkpoint.CheckpointPolicy | None,
        reason: str,
        exit_code: int | None,
        at: float,
        progress: float,
        lost: list[str],
        fate: live_failures.Fate | None = None,
    ) -> Change:
        """The attempt ends: back to its queue if the cause is retryable and restarts are
        left, else Failed."""
        self._written.pop(g.key[2], None)
        retryable = reason == "NodeFailure" or (fate is not None and fate.retryable)
        allowed = policy.spec.max_restarts if policy is not None else DEFAULT_RESTARTS
        why = f"node {', '.join(lost)} NotReady" if lost else f"{reason}, exit code {exit_code}"
        peak = _peak(g, fate.memory_share) if fate is not None else g.status.peak_memory
        update: dict[str, object] = {
            "reason": reason,
            "exit_code": exit_code,
            "peak_memory": peak,
            "progress": round(progress, 4),
        }
        if retryable and g.status.restarts < allowed:
            update |= {
                "phase": "Pending",
                "restarts": g.status.restarts + 1,
                "assignments": [],
                "start_time": None,
                "completion_time": None,
                "progress": live_progress.resume_point(g, policy),
            }
            note = events.Note("Restarted", f"{why}: requeued (restart {g.status.restarts + 1} of "
                        f"{allowed}), resuming from its last checkpoint", "Warning")
        else:
            update |= {"phase": "Failed", "completion_time": live_progress.moment(at)}
            note = events.Note(reason, f"job failed: {why}", "Warning")
        status = g.status.model_copy(update=update)
        return Change(g.model_copy(update={"status": status}), notes=(note,))

    def _preempted(
        self, g: gang.GangSchedulingGroup, policy: checkpoint.CheckpointPolicy | None
    ) -> Change | None:
        """A preempted job keeps its progress in a checkpoint if its policy saved one on
        notice (admission then set lastCheckpointTime); otherwise it loses what it did since
        the last one."""
        saved = g.status.last_checkpoint_time
        cond = g.status.condition("Preempted")
        on_notice = (
            live_progress.resumes(policy)
            and saved is not None
            and cond is not None
            and cond.last_transition_time is not None
            and saved >= cond.last_transition_time
        )
        if on_notice:
            if g.status.checkpoint_progress == g.status.progress:
                return None
            status = g.status.model_copy(update={"checkpoint_progress": g.status.progress})
        else:
            kept = live_progress.resume_point(g, policy)
            if g.status.progress == kept:
                return None
            status = g.status.model_copy(update={"progress": kept})
        return Change(g.model_copy(update={"status": status}))


def _peak(g: gang.GangSchedulingGroup, share: float) -> Quantity:
    largest = max(p.resources.memory.value for p in g.spec.pod_sets)
    return Quantity(f"{int(float(largest) * share / 2**20)}Mi")


def _tainted(n: node.Node) -> bool:
    return any(t.key == NOT_READY_TAINT for t in n.spec.taints)


def _ready(n: node.Node) -> bool:
    cond = n.status.condition("Ready")
    return cond is None or cond.status == "True"


def _node_change(
    n: node.Node, down: bool, message: str, now: datetime, note: events.Note
) -> Change:
    taints = [t for t in n.spec.taints if t.key != NOT_READY_TAINT]
    if down:
        taints.append(node.Taint(key=NOT_READY_TAINT, effect="NoExecute"))
    reason = NOT_READY if down else "KubeletReady"
    ready = conditions.condition("Ready", not down, reason, message, n.metadata.generation, now)
    kept = [c for c in n.status.conditions if c.type != "Ready"]
    ready = conditions.keep_transition_time(n.status.conditions, [ready])[0]
    status = n.status.model_copy(update={"conditions": [*kept, ready]})
    spec = n.spec.model_copy(update={"taints": taints})
    changed = n.model_copy(update={"spec": spec, "status": status})
    writes: tuple[Write, ...] = ("spec", "status") if taints != n.spec.taints else ("status",)
    return Change(changed, writes, (note,))

