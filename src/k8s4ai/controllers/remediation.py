"""Remediation over the embedded store: a `world.World` that reads gangs, nodes, inference
services and events from a store and writes plans back as spec and status patches, plus
where its audit log lives and how an audited action is undone from another process.

What the store does not hold, the world leaves out rather than invents: there are no claims
or StorageClasses in the k8s4ai API (so `pending-volume` has nothing to read here), and no
load, capacity or latency on an InferenceService, so those are None ("not measured", never
zero) and `idle-replicas` does not fire on it.
A gang's `progress` is a share of its work; it becomes seconds through
`spec.estimatedDuration`, or through one hour when the gang has none (rules only compare
progress with progress, so the unit only shows in their sentences).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from k8s4ai.api import event, gang, inference, node
from k8s4ai.remediation import audit, engine, plan, registry, state
from k8s4ai.store import errors, interface

log = logging.getLogger(__name__)

MIB = 1024 * 1024
HOUR = 3600.0
HARDWARE_EVENTS = frozenset({"GPUError", "NodeLost"})


def audit_path(db: Path) -> Path:
    """The audit log beside the store file."""
    return db.with_name(db.name + ".remediation.jsonl")


def proposal_id(made: plan.Plan) -> str:
    """Stable across processes while the fault lasts: the CLI lists a plan in one command and
    approves it by this id in the next."""
    rule, subject, action = made.signature
    return hashlib.sha1(f"{rule}|{subject}|{action}".encode()).hexdigest()[:8]


def engine_for(
    store: interface.Store,
    clock: Callable[[], datetime],
    policy: engine.Policy,
    log: audit.AuditLog,
    history: audit.AuditLog | None = None,
) -> engine.Engine:
    """The engine `k8s4ai up` steps (every rule, audited to `log`) and the CLI runs once;
    the rate limit counts the actions `history` (default: `log`) holds from the last hour."""
    past = history or log
    hour_ago = clock().timestamp() - HOUR
    applied = [
        float(r["time"])
        for r in past.records()
        if r["event"] == "applied" and float(r["time"]) > hour_ago
    ]
    return engine.Engine(
        StoreWorld(store, clock),
        registry.default_rules(),
        policy,
        clock=lambda: clock().timestamp(),
        log=log,
        ids=proposal_id,
        applied_times=applied,
    )


def session(
    store: interface.Store, clock: Callable[[], datetime], log: audit.AuditLog
) -> engine.Engine:
    """An engine after one pass of every rule in propose mode, for a person deciding from
    another process (the CLI, the HTTP API): its detections stay in memory, so looking
    does not fill the audit log; plans rejected earlier are dropped; what follows (approve,
    reject) is audited to `log`. Its proposal ids are the controller's."""
    loop = engine_for(
        store, clock, engine.Policy(engine.Mode.PROPOSE), audit.AuditLog(), history=log
    )
    loop.step()
    rejected = {r["id"] for r in log.records() if r["event"] == "rejected"}
    for proposal in loop.pending():
        if proposal.id in rejected:
            loop.forget(proposal.id)
    loop.log = log
    return loop


class Controller:
    """Steps the engine over the store until stopped, auditing beside the store file. In the
    default propose mode plans wait for `k8s4ai remediation approve`; the CLI lists them
    under the same ids."""

    def __init__(
        self,
        store: interface.Store,
        db: Path,
        clock: Callable[[], datetime],
        policy: engine.Policy | None = None,
    ) -> None:
        self.engine = engine_for(
            store, clock, policy or engine.Policy(), audit.AuditLog(audit_path(db))
        )

    def run_once(self) -> None:
        try:
            self.engine.step()
        except (errors.Conflict, errors.NotFound) as err:
            log.info("remediation pass skipped, the store moved on: %s", err)

    def run(self, stop: threading.Event, interval: float = 30.0) -> None:
        while not stop.is_set():
            self.run_once()
            stop.wait(interval)


class StoreWorld:
    def __init__(self, store: interface.Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def snapshot(self) -> state.State:
        now = self.clock().timestamp()
        jobs = {}
        for obj in self.store.list(gang.GangSchedulingGroup.kind_name).items:
            if isinstance(obj, gang.GangSchedulingGroup):
                job = _job(obj)
                jobs[job.ref] = job
        nodes = {}
        for obj in self.store.list(node.Node.kind_name).items:
            if isinstance(obj, node.Node):
                record = _node(obj)
                nodes[record.ref] = record
        services = {}
        for obj in self.store.list(inference.InferenceService.kind_name).items:
            if isinstance(obj, inference.InferenceService):
                svc = _service(obj)
                services[svc.ref] = svc
        events = []
        for obj in self.store.list(event.Event.kind_name).items:
            if isinstance(obj, event.Event):
                events.append(_event(obj, jobs))
        events.sort(key=lambda e: e.time)
        return state.State(now, jobs, nodes, {}, {}, services, tuple(events))

    def apply(self, changes: Sequence[plan.Change]) -> None:
        grouped: dict[state.Ref, dict[str, plan.Value]] = {}
        for change in changes:
            grouped.setdefault(change.ref, {})[change.field] = change.after
        patches = [(ref, *_patches(ref, fields, self.store)) for ref, fields in grouped.items()]
        for ref, spec, status in patches:
            kind, ns = ref.kind, ref.namespace or None
            if spec:
                self.store.patch(kind, ref.name, ns, {"spec": spec})
            if status:
                self.store.patch(kind, ref.name, ns, {"status": status}, subresource="status")


def _patches(
    ref: state.Ref, fields: dict[str, plan.Value], store: interface.Store
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(spec patch, status patch) in the API's camelCase; an unknown field fails before
    anything is written."""
    spec: dict[str, Any] = {}
    status: dict[str, Any] = {}
    for name, value in fields.items():
        if ref.kind == state.JOB and name == "memory_mib":
            current = store.get(ref.kind, ref.name, ref.namespace)
            assert isinstance(current, gang.GangSchedulingGroup)
            largest = _memory_mib(current)
            sets = current.model_dump(mode="json", by_alias=True)["spec"]["podSets"]
            for typed, pod_set in zip(current.spec.pod_sets, sets, strict=True):
                if typed.resources.memory.bytes / MIB == largest:
                    pod_set.setdefault("resources", {})["memory"] = f"{int(float(value or 0))}Mi"
            spec["podSets"] = sets
        elif ref.kind == state.JOB and name == "suspend":
            spec["suspend"] = value
        elif ref.kind == state.JOB and name == "phase":
            status["phase"] = value
            if value == "Pending":
                status["assignments"] = []
        elif ref.kind == state.JOB and name == "reason":
            status["reason"] = value
        elif ref.kind == state.JOB and name == "exit_code":
            status["exitCode"] = value
        elif ref.kind == state.JOB and name == "restarts":
            status["restarts"] = value
        elif ref.kind == state.NODE and name == "unschedulable":
            spec["unschedulable"] = value
        elif ref.kind == state.SERVICE and name == "replicas":
            spec["replicas"] = value
        else:
            raise ValueError(f"the store world cannot change {ref} {name}")
    return spec, status


def _seconds(obj: gang.GangSchedulingGroup) -> float:
    estimate = obj.spec.estimated_duration
    return estimate.seconds if estimate is not None else HOUR


def _memory_mib(obj: gang.GangSchedulingGroup) -> float:
    """The largest pod's memory request: the pod that peaks and is OOM-killed first, and the
    only pod sets a memory plan changes (a launcher's smaller request is left alone)."""
    return max(p.resources.memory.bytes for p in obj.spec.pod_sets) / MIB


def _job(obj: gang.GangSchedulingGroup) -> state.Job:
    st = obj.status
    scale = _seconds(obj)
    labels = obj.metadata.labels or {}
    nodes = tuple(n for a in st.assignments for n in a.nodes)
    return state.Job(
        ref=state.Ref(state.JOB, obj.metadata.namespace or "default", obj.metadata.name),
        queue=obj.spec.queue,
        gpus=int(sum(p.count * p.resources.gpus for p in obj.spec.pod_sets)),
        memory_mib=_memory_mib(obj),
        workload=labels.get("k8s4ai.io/workload", "training"),
        phase=st.phase,
        suspend=obj.spec.suspend,
        reason=st.reason,
        exit_code=st.exit_code,
        peak_memory_mib=None if st.peak_memory is None else st.peak_memory.bytes / MIB,
        progress=st.progress * scale,
        checkpoint_progress=None
        if st.checkpoint_progress is None
        else st.checkpoint_progress * scale,
        restarts=st.restarts,
        nodes=nodes,
        failed_on=nodes if st.phase == "Failed" else (),
        failed_at=st.completion_time.timestamp()
        if st.completion_time and st.phase == "Failed"
        else None,
        started_at=st.start_time.timestamp() if st.start_time else None,
    )


def _node(obj: node.Node) -> state.Node:
    ready = obj.status.condition("Ready")
    return state.Node(
        state.Ref(state.NODE, "", obj.metadata.name),
        sum(g.count for g in obj.spec.gpus),
        obj.spec.memory.bytes / MIB,
        obj.spec.topology.get("zone", ""),
        obj.spec.unschedulable,
        ready is None or ready.status != "False",
    )


def _service(obj: inference.InferenceService) -> state.Service:
    spec = obj.spec
    return state.Service(
        state.Ref(state.SERVICE, obj.metadata.namespace or "default", obj.metadata.name),
        spec.replicas,
        spec.min_replicas if spec.min_replicas is not None else spec.replicas,
        int(spec.resources.gpus) or 1,
        load_rps=None,
        capacity_rps=None,
        latency_ms=None,
        latency_target_ms=None,
        retrain_job=(obj.metadata.annotations or {}).get("k8s4ai.io/retrain-job"),
    )


def _event(obj: event.Event, jobs: dict[state.Ref, state.Job]) -> state.Event:
    """An event about a Node is charged to that node. An event about a gang is charged to the
    gang's first node only while the gang is still Failed, when its assignments are the ones
    it failed on; once it runs elsewhere, where the event happened is unknown, and an
    unknown node is left unnamed rather than guessed."""
    spec = obj.spec
    involved = spec.involved_object
    kind = {"GangSchedulingGroup": state.JOB}.get(involved.kind, involved.kind)
    ref = state.Ref(kind, involved.namespace or "", involved.name)
    where: str | None = None
    if kind == state.JOB and ref in jobs and jobs[ref].phase == "Failed" and jobs[ref].nodes:
        where = jobs[ref].nodes[0]
    elif kind == state.NODE:
        where = involved.name
    stamp = spec.last_timestamp or spec.first_timestamp
    value: float | None = None
    if spec.reason == "DriftDetected":
        try:
            value = float(spec.message.split()[-1])
        except (ValueError, IndexError):
            value = None
    return state.Event(
        stamp.timestamp() if stamp else 0.0, ref, spec.reason, spec.message, where, value
    )


def undo(world: StoreWorld, log: audit.AuditLog, action_id: str, actor: str) -> str:
    """Undo an action applied by any process, from its audit record: write every before
    back if every field still holds its after. Returns what happened, raises ValueError
    when it cannot."""
    applied = [r for r in log.records() if r.get("id") == action_id]
    if not any(r["event"] == "applied" for r in applied):
        raise ValueError(f"no applied action {action_id} in {log.path}")
    if any(r["event"] == "undone" for r in applied):
        raise ValueError(f"{action_id} was already undone")
    record = next(r for r in reversed(applied) if r["event"] == "applied")
    changes = tuple(
        plan.Change(_ref(c["object"]), c["field"], c["after"], c["before"])
        for c in reversed(record["changes"])
    )
    stale = plan.stale(changes, world.snapshot())
    if stale:
        raise ValueError(f"cannot undo {action_id}: {'; '.join(stale)}")
    base = {k: record[k] for k in ("id", "rule", "subject", "action")}
    entry_changes = [
        {"object": str(c.ref), "field": c.field, "before": c.before, "after": c.after}
        for c in changes
    ]
    now = world.clock().timestamp()
    log.append({**base, "time": now, "event": "dry-run", "actor": actor, "changes": entry_changes})
    world.apply(changes)
    log.append({**base, "time": now, "event": "undone", "actor": actor, "changes": entry_changes})
    return f"{action_id} undone"


def _ref(text: str) -> state.Ref:
    parts = text.split("/")
    if len(parts) == 3:
        return state.Ref(parts[0], parts[1], parts[2])
    if len(parts) == 2:
        return state.Ref(parts[0], "", parts[1])
    raise ValueError(f"not an object reference: {text!r}")
