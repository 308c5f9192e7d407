"""The scheduler loop on a cluster: watch Pods and Nodes, and on every change run the
admission controller's cycle (`controllers.admission.plan`, the same function the embedded
plane runs) over the cluster as k8s4ai objects, then bind what it admitted.

Nothing is remembered between passes but the pods just bound and not yet seen bound on the
watch (`assumed`, as kube-scheduler's cache assumes them): the next pass then already
counts them as running, so a gang is never bound twice; everything else is rebuilt from
the watched copies, which is what makes a standby that takes over decide as the old
leader would have.

Only a leader acts: a pass is skipped, and a bind stopped, once `leading()` is false.
Preemption is decided by the cycle but not carried out here yet: a gang admitted on the
condition that others leave is not bound.

A gang found partly bound (a replacement for a failed member beside members still bound,
or a leader that stopped between binds) is rolled back: its bound pods are deleted and it
is placed whole once its owner has recreated them, as after a bind that failed midway.
Completing it in place (the bound pods charged where they are, only the others placed on
what is left) was the alternative; rolling back was chosen because it is the one that
stays easy to trust:

- placement keeps a single path, the admission cycle placing a whole gang on a snapshot
  where everything else is charged; completing in place would need the cycle to place part
  of a job around pods it did not choose, with a required topology level (a rack) that must
  hold both, and quota charged for a job that is half running;
- until the bound pods are gone they are counted on their nodes as any other scheduler's
  pods are (`capacity`), so nothing is ever placed on what they hold;
- a gang is a job whose pods work together: when one member fails, the framework restarts
  the others from their checkpoint anyway (a collective cannot finish without a rank), so
  deleting them loses little that was not already lost;
- a leader that stopped between binds leaves what its own rollback would have undone.

The cost: running members restart, and a pod without an owner is not recreated (its gang
then waits, saying so), as after a failed bind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import kr8s
import kr8s.asyncio

from k8s4ai.api import accelerator, budget, gang, queue, resource
from k8s4ai.backends.kubernetes import (
    binder,
    calls,
    capacity,
    discovery,
    own,
    pending,
    reflector,
    transport,
    workloads,
)
from k8s4ai.controllers import admission, admission_convert
from k8s4ai.scheduler.admission import policies

log = logging.getLogger(__name__)

POD_GROUPS = "scheduling.x-k8s.io/v1alpha1"


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class PassResult:
    """What one pass did, by gang (namespace/name)."""

    bound: dict[str, dict[str, str]] = field(default_factory=dict)
    """Pod name -> node, for each gang bound."""
    failed: dict[str, binder.GangBinding] = field(default_factory=dict)
    rolled_back: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The pods deleted from each gang found partly bound."""
    waiting: dict[str, str] = field(default_factory=dict)
    """Why each gang that was not admitted waits."""
    skipped: bool = False
    """Not leading: nothing was done."""


def partly_bound(pod_gang: workloads.PodGang) -> bool:
    """Some of the gang's pods are bound and some are not."""
    nodes = [bool(m.node) for m in pod_gang.pods]
    return any(nodes) and not all(nodes)


class Controller:
    def __init__(
        self,
        api: kr8s.asyncio.Api,
        leading: Callable[[], bool] = binder.always,
        policy: str = policies.DEFAULT,
        clock: Callable[[], datetime] = wall_clock,
        config: discovery.DiscoveryConfig | None = None,
        seed: int = 0,
        backoff_seconds: float = 5.0,
    ) -> None:
        self._api = api
        self._leading = leading
        self._policy = policies.get(policy)
        self._clock = clock
        self._config = config
        self._seed = seed
        self.changed = asyncio.Event()
        self.listeners: list[Callable[[], None]] = [self.changed.set]
        """Called on every change the watches see (the cost loop listens too)."""
        self.pods = reflector.Reflector(
            api, calls.LIST_PODS, calls.WATCH_PODS, "pods", self._notify
        )
        self.nodes = reflector.Reflector(
            api, calls.LIST_NODES, calls.WATCH_NODES, "nodes", self._notify
        )
        self._backoff = backoff_seconds
        self.assumed: dict[str, str] = {}
        """Pod UID -> node, for pods bound but not yet seen bound on the watch."""
        self.requeued: dict[str, tuple[int, float]] = {}
        """Gangs rolled back (a failed bind, or found partly bound): their size, which they
        wait to have again (their owner recreates the pods the rollback deleted), and the
        time (seconds) before which they are not bound again."""

    def _notify(self) -> None:
        for listener in self.listeners:
            listener()

    async def _pod_groups(self) -> dict[tuple[str, str], int]:
        """PodGroups' minMember by (namespace, name); none when their CRD is not installed."""
        try:
            listed = await transport.request(
                self._api, calls.LIST_POD_GROUPS, "GET", "podgroups", version=POD_GROUPS
            )
        except kr8s.ServerError as err:
            if err.response is not None and err.response.status_code == 404:
                return {}
            raise
        out = {}
        for item in listed.get("items") or []:
            meta_in = item.get("metadata") or {}
            size = (item.get("spec") or {}).get("minMember")
            if isinstance(size, int) and size > 0:
                out[(meta_in.get("namespace") or "default", meta_in["name"])] = size
        return out

    def _pods(self) -> list[dict[str, Any]]:
        """The watched pods, with the assumed binds the watch has not shown yet."""
        out = []
        for pod in self.pods.objects.values():
            uid = pod["metadata"].get("uid", "")
            if uid in self.assumed:
                if (pod.get("spec") or {}).get("nodeName"):
                    del self.assumed[uid]
                else:
                    pod = {**pod, "spec": {**pod.get("spec", {}), "nodeName": self.assumed[uid]}}
            out.append(pod)
        live = {p["metadata"].get("uid") for p in self.pods.objects.values()}
        for uid in [u for u in self.assumed if u not in live]:
            del self.assumed[uid]
        return out

    async def run_once(self) -> PassResult:
        result = PassResult()
        if not self._leading():
            result.skipped = True
            return result
        now = self._clock()
        queues = await own.list_own(self._api, calls.LIST_QUEUES, queue.Queue)
        written = await own.list_own(
            self._api, calls.LIST_ACCELERATOR_CLASSES, accelerator.AcceleratorClass
        )
        budgets = await own.list_own(self._api, calls.LIST_BUDGETS, budget.Budget, True)
        pods = self._pods()
        found = workloads.gangs(pods, await self._pod_groups())
        raw = {(p["metadata"].get("namespace"), p["metadata"]["name"]): p for p in pods}
        self._forget_requeued(pods)
        admit: list[workloads.PodGang] = []
        for candidate in found.gangs:
            key = admission_convert.job_key(candidate.gang)
            if partly_bound(candidate):
                await self._roll_back(key, candidate, raw, result, now)
            elif why := self._held(key, candidate, now):
                result.waiting[key] = why
                await self._explain(candidate.pods, raw, why, now)
            else:
                admit.append(candidate)
        # Bound pods of a gang being rolled back are not "ours": they are taken off their
        # nodes like any other scheduler's pods until they are gone.
        ours = {(m.namespace, m.name) for g in admit for m in g.pods}
        nodes = capacity.left(self.nodes.objects.values(), pods, ours)
        inventory = discovery.discover(nodes, written, self._config)
        by_key = {admission_convert.job_key(g.gang): g for g in admit}
        objs: list[resource.Resource] = [
            *inventory.nodes,
            *written,
            *inventory.accelerator_classes,
            *queues,
            *budgets,
            *(g.gang for g in admit),
        ]
        for change in admission.plan(objs, now, self._policy, self._seed):
            obj = change.object
            if not isinstance(obj, gang.GangSchedulingGroup):
                continue
            key = admission_convert.job_key(obj)
            pod_gang = by_key.get(key)
            if pod_gang is None:
                continue
            if obj.status.phase == "Admitted" and not change.needs:
                await self._bind(key, pod_gang, obj, result)
            elif obj.status.phase in ("Pending", "Preempted", "Admitted"):
                cond = obj.status.condition("Admitted")
                why = cond.message if cond is not None and cond.status == "False" else ""
                why = why or "admitted once the gangs it preempts have left"
                result.waiting[key] = why
                await self._explain(pod_gang.pods, raw, why, now)
        for problem in found.problems:
            pod = raw.get((problem.namespace, problem.name))
            if pod is not None:
                await self._explain_one(pod, problem.reason, now)
        return result

    async def _bind(
        self,
        key: str,
        pod_gang: workloads.PodGang,
        obj: gang.GangSchedulingGroup,
        result: PassResult,
    ) -> None:
        placements = [
            binder.Placement(binder.PodRef(m.namespace, m.name, m.uid), node)
            for assignment in obj.status.assignments
            for m, node in zip(
                pod_gang.members.get(assignment.name, ()), assignment.nodes, strict=False
            )
            if not m.node
        ]
        outcome = await binder.bind_gang(self._api, placements, self._leading)
        if outcome.ok:
            for p in outcome.bound:
                self.assumed[p.pod.uid or ""] = p.node
            result.bound[key] = {p.pod.name: p.node for p in outcome.bound}
            self.requeued.pop(key, None)
            return
        result.failed[key] = outcome
        self._requeue(key, len(pod_gang.pods))
        log.warning("gang %s requeued: %s", key, outcome.reason)
        self.changed.set()

    def _requeue(self, key: str, size: int) -> None:
        self.requeued[key] = (size, self._clock().timestamp() + self._backoff)

    def _held(self, key: str, pod_gang: workloads.PodGang, now: datetime) -> str:
        """Why a rolled-back gang is not placed yet ("" once it may be): its owner has not
        recreated every pod the rollback deleted, or its back-off has not passed. Checked
        here rather than through min-member, which an annotation smaller than the gang
        would override, letting half of it be placed and rolled back again."""
        if key not in self.requeued:
            return ""
        size, not_before = self.requeued[key]
        have = len(pod_gang.pods)
        if have < size:
            return (
                f"rolled back: waiting for its owner to recreate its deleted pods "
                f"({have} of {size} pods exist)"
            )
        if now.timestamp() < not_before:
            return "rolled back: placed again after a back-off"
        return ""

    def _forget_requeued(self, pods: Sequence[dict[str, Any]]) -> None:
        """A gang none of whose pods is left (its job was deleted) waits for nothing."""
        present = {"/".join(workloads.gang_of(p)) for p in pods if workloads.ours(p)}
        for key in [k for k in self.requeued if k not in present]:
            del self.requeued[key]

    async def _roll_back(
        self,
        key: str,
        pod_gang: workloads.PodGang,
        raw: dict[tuple[str | None, str], dict[str, Any]],
        result: PassResult,
        now: datetime,
    ) -> None:
        """Delete the bound pods of a partly bound gang and requeue it whole (the module
        docstring says why rather than completing it in place)."""
        if not self._leading():
            return
        bound = [binder.PodRef(m.namespace, m.name, m.uid) for m in pod_gang.pods if m.node]
        waiting = [m for m in pod_gang.pods if not m.node]
        deleted, failures = await binder.roll_back(self._api, bound)
        for failure in failures:
            log.warning("gang %s: could not delete %s: %s", key, failure.pod, failure.reason)
        self._requeue(key, len(pod_gang.pods))
        result.rolled_back[key] = tuple(p.name for p in deleted)
        why = (
            f"its gang was partly bound ({len(bound)} of {len(pod_gang.pods)} pods): the "
            f"bound pods are deleted so the gang is placed whole once they are recreated"
        )
        result.waiting[key] = why
        await self._explain(waiting, raw, why, now)

    async def _explain(
        self,
        members: Sequence[workloads.Member],
        raw: dict[tuple[str | None, str], dict[str, Any]],
        why: str,
        now: datetime,
    ) -> None:
        for m in members:
            pod = raw.get((m.namespace, m.name))
            if pod is not None and not m.node:
                await self._explain_one(pod, why, now)

    async def _explain_one(self, pod: dict[str, Any], why: str, now: datetime) -> None:
        if not self._leading():
            return
        try:
            await pending.explain(self._api, pod, why, now)
        except transport.API_FAILURES as err:
            log.warning("could not explain pod %s: %s", pod["metadata"]["name"], err)

    async def run(self, stop: asyncio.Event, period_seconds: float = 10.0) -> None:
        """Watch until `stop`, with a pass after every change and every `period_seconds`
        (decisions also change with time: a job ages into a higher priority level)."""
        watchers = [
            asyncio.create_task(self.pods.run(stop)),
            asyncio.create_task(self.nodes.run(stop)),
        ]
        try:
            await _any(stop, self.pods.synced.wait(), self.nodes.synced.wait())
            while not stop.is_set():
                self.changed.clear()
                try:
                    await self.run_once()
                except transport.API_FAILURES as err:
                    log.warning("scheduling pass failed, retrying: %s", err)
                await _any(stop, self.changed.wait(), timeout=period_seconds)
        finally:
            for w in watchers:
                w.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)


async def _any(
    stop: asyncio.Event, *waits: Coroutine[Any, Any, Any], timeout: float | None = None
) -> None:
    """Until all of `waits` are done, `stop` is set or `timeout` passes."""
    tasks = [asyncio.ensure_future(asyncio.gather(*waits)), asyncio.ensure_future(stop.wait())]
    await asyncio.wait(tasks, timeout=timeout, return_when="FIRST_COMPLETED")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
