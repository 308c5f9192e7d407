"""Bind an admitted gang's pods with the Binding API, all or nothing.

Kubernetes has no multi-pod transaction: each Binding is its own request, and a bound pod
cannot be unbound. So a gang is bound pod by pod, and if one bind fails (the pod was deleted
or recreated, the node went away, the API refused), the pods already bound are deleted, which
their owner (Job, JobSet, LeaderWorkerSet) recreates unbound, and the caller requeues the
gang. Without that, half a training job would hold GPUs waiting for peers that never come,
which is the deadlock gang scheduling exists to prevent.

Each Binding carries the pod's UID, so binding a pod that was recreated under the same name
fails instead of placing a pod the scheduler never saw; deletes carry the UID as a
precondition for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import kr8s.asyncio

from k8s4ai.backends.kubernetes import calls, transport


@dataclass(frozen=True, slots=True)
class PodRef:
    namespace: str
    name: str
    uid: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Placement:
    pod: PodRef
    node: str


@dataclass(frozen=True, slots=True)
class RollbackFailure:
    pod: PodRef
    reason: str


@dataclass(frozen=True, slots=True)
class GangBinding:
    """What happened to one gang: all bound, or the first refusal and what was undone."""

    bound: tuple[Placement, ...]
    failed: Placement | None = None
    reason: str = ""
    rolled_back: tuple[PodRef, ...] = ()
    rollback_failures: tuple[RollbackFailure, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failed is None


async def bind_pod(api: kr8s.asyncio.Api, placement: Placement) -> None:
    pod = placement.pod
    metadata: dict[str, Any] = {"name": pod.name, "namespace": pod.namespace}
    if pod.uid:
        metadata["uid"] = pod.uid
    body = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": metadata,
        "target": {"apiVersion": "v1", "kind": "Node", "name": placement.node},
    }
    url = f"pods/{pod.name}/binding"
    await transport.request(api, calls.BIND_POD, "POST", url, pod.namespace, body)


async def delete_pod(api: kr8s.asyncio.Api, pod: PodRef) -> None:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
    if pod.uid:
        body["preconditions"] = {"uid": pod.uid}
    await transport.request(
        api, calls.DELETE_POD, "DELETE", f"pods/{pod.name}", pod.namespace, body
    )


class NotLeadingError(RuntimeError):
    """This replica lost its Lease: it must not bind."""


def always() -> bool:
    return True


async def bind_gang(
    api: kr8s.asyncio.Api,
    placements: Sequence[Placement],
    may_act: Callable[[], bool] = always,
) -> GangBinding:
    """Bind every placement in order; on the first failure, delete the pods bound so far.

    Binding in order (not concurrently) keeps the number of pods to roll back at most the
    gang's size minus one and makes the outcome deterministic for the same input.
    `may_act` is asked before each bind (the leader's `leading`): a replica that lost its
    Lease midway binds no more and rolls back the pods it bound, which it may still do
    because the Lease outlives its renew deadline (see `leader`).
    """
    bound: list[Placement] = []
    for placement in placements:
        try:
            if not may_act():
                raise NotLeadingError("this replica no longer holds the leader Lease")
            await bind_pod(api, placement)
        except (*transport.API_FAILURES, NotLeadingError) as err:
            rolled_back, failures = await roll_back(api, [p.pod for p in bound])
            why = transport.reason(err) if not isinstance(err, NotLeadingError) else str(err)
            return GangBinding(
                bound=(),
                failed=placement,
                reason=f"binding {placement.pod} to {placement.node} failed: {why}",
                rolled_back=rolled_back,
                rollback_failures=failures,
            )
        bound.append(placement)
    return GangBinding(bound=tuple(bound))


async def roll_back(
    api: kr8s.asyncio.Api, pods: Sequence[PodRef]
) -> tuple[tuple[PodRef, ...], tuple[RollbackFailure, ...]]:
    """Delete bound pods so their owner recreates them unbound: the pods deleted, and those
    that could not be (each with the API's reason), every pod tried even after a failure."""
    done: list[PodRef] = []
    failures: list[RollbackFailure] = []
    for pod in pods:
        try:
            await delete_pod(api, pod)
        except transport.API_FAILURES as err:
            failures.append(RollbackFailure(pod, transport.reason(err)))
        else:
            done.append(pod)
    return tuple(done), tuple(failures)
