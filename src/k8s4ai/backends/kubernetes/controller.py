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
import pydantic

from k8s4ai.api import accelerator, gang, meta, queue, resource
from k8s4ai.backends.kubernetes import (
    binder,
    calls,
    capacity,
    discovery,
    pending,
    reflector,
    transport,
    workloads,
)
from k8s4ai.controllers import admission, admission_convert
from k8s4ai.scheduler.admission import policies

log = logging.getLogger(__name__)

OWN_VERSION = f"{meta.API_GROUP}/{meta.API_VERSION}"
POD_GROUPS = "scheduling.x-k8s.io/v1alpha1"


def wall_clock() -> datetime:
    return datetime.now(UTC)


def _always() -> bool:
    return True


@dataclass(slots=True)
class PassResult:
    """What one pass did, by gang (namespace/name)."""

    bound: dict[str, dict[str, str]] = field(default_factory=dict)
    """Pod name -> node, for each gang bound."""
    failed: dict[str, binder.GangBinding] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)
    """Why each gang that was not admitted waits."""
    skipped: bool = False
    """Not leading: nothing was done."""


def _split(key: str) -> tuple[str, str]:
    namespace, name = key.split("/", 1)
    return namespace, name


def _own(kind: type[resource.Resource], raw: dict[str, Any]) -> resource.Resource:
    """A k8s4ai object as listed from the cluster, with the server's metadata left out."""
    meta_in = raw.get("metadata") or {}
    kept = {k: meta_in[k] for k in ("name", "namespace", "labels", "annotations") if k in meta_in}
    return kind.model_validate({"metadata": kept, "spec": raw.get("spec") or {}})


class Controller:
    def __init__(
        self,
        api: kr8s.asyncio.Api,
        leading: Callable[[], bool] = _always,
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
        self.pods = reflector.Reflector(
            api, calls.LIST_PODS, calls.WATCH_PODS, "pods", self.changed.set
        )
        self.nodes = reflector.Reflector(
            api, calls.LIST_NODES, calls.WATCH_NODES, "nodes", self.changed.set
        )
        self._backoff = backoff_seconds
        self.assumed: dict[str, str] = {}
        """Pod UID -> node, for pods bound but not yet seen bound on the watch."""
        self.requeued: dict[str, tuple[int, float]] = {}
        """Gangs whose bind failed: their size, which they wait to have again (their owner
        recreates the pods the rollback deleted), and when they may be bound again."""

    async def _list_own(self, call: calls.ApiCall, kind: type[resource.Resource]) -> list[Any]:
        listed = await transport.request(self._api, call, "GET", kind.plural, version=OWN_VERSION)
        out = []
        for raw in listed.get("items") or []:
            try:
                out.append(_own(kind, raw))
            except pydantic.ValidationError as err:
                log.warning("%s %s is invalid: %s", kind.kind_name, raw["metadata"]["name"], err)
        return out

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
        queues = await self._list_own(calls.LIST_QUEUES, queue.Queue)
        written = await self._list_own(calls.LIST_ACCELERATOR_CLASSES, accelerator.AcceleratorClass)
        pods = self._pods()
        sizes = await self._pod_groups()
        for k, (size, _) in self.requeued.items():
            sizes[_split(k)] = max(size, sizes.get(_split(k), 0))
        found = workloads.gangs(pods, sizes)
        ours = {(m.namespace, m.name) for g in found.gangs for m in g.pods}
        nodes = capacity.left(self.nodes.objects.values(), pods, ours)
        inventory = discovery.discover(nodes, written, self._config)
        by_key = {admission_convert.job_key(g.gang): g for g in found.gangs}
        objs: list[resource.Resource] = [
            *inventory.nodes,
            *written,
            *inventory.accelerator_classes,
            *queues,
            *(g.gang for g in found.gangs),
        ]
        raw = {(p["metadata"].get("namespace"), p["metadata"]["name"]): p for p in pods}
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
            return
        result.failed[key] = outcome
        log.warning("gang %s requeued: %s", key, outcome.reason)
        self.changed.set()

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
