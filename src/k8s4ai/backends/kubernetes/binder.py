"""Bind an admitted gang's pods with the Binding API, all or nothing.

Kubernetes has no multi-pod transaction: each Binding is its own request, and a bound pod
cannot be unbound. So a gang is bound pod by pod, and if one bind fails (the pod was deleted
or recreated, the node went away, the API refused), the pods already bound are deleted, which
their owner (Job, JobSet, LeaderWorkerSet) recreates unbound, and the caller requeues the
gang. Without that, half a training job would hold GPUs waiting for peers that never come,
which is the deadlock gang scheduling exists to prevent.

Each Binding carries the pod's UID, so binding a pod that was recreated under the same name
fails instead of placing a pod the scheduler never saw; deletes carry the UID as a
precondition for the same reason. Every request goes through `_request` with its declared
`calls.ApiCall`, so a call that `deploy/rbac.yaml` does not grant cannot be made.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import kr8s
import kr8s.asyncio

from k8s4ai.backends.kubernetes import calls

_DECLARED = calls.CLUSTER_CALLS | calls.NAMESPACE_CALLS
_API_FAILURES = (kr8s.ServerError, kr8s.APITimeoutError, httpx.HTTPError)


class UndeclaredCallError(RuntimeError):
    """A request whose ApiCall is not declared (and so not granted by deploy/rbac.yaml)."""


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


async def _request(
    api: kr8s.asyncio.Api,
    call: calls.ApiCall,
    method: str,
    namespace: str,
    url: str,
    body: dict[str, Any] | None = None,
) -> None:
    if call not in _DECLARED:
        raise UndeclaredCallError(f"{call} is not declared in backends/kubernetes/calls.py")
    content = None if body is None else json.dumps(body)
    headers = {"Content-Type": "application/json"} if body is not None else None
    async with api.call_api(
        method, version="v1", namespace=namespace, url=url, content=content, headers=headers
    ):
        pass


def _reason(err: Exception) -> str:
    """The code and the API's own message (a Status object's `message`) when there is one;
    kr8s keeps it for 4xx answers only."""
    if isinstance(err, kr8s.ServerError) and err.response is not None:
        message = str(err)
        with contextlib.suppress(ValueError, KeyError, TypeError):
            message = str(err.response.json()["message"])
        return f"{err.response.status_code} {message}"
    return f"{type(err).__name__}: {err}"


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
    await _request(api, calls.BIND_POD, "POST", pod.namespace, f"pods/{pod.name}/binding", body)


async def delete_pod(api: kr8s.asyncio.Api, pod: PodRef) -> None:
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
    if pod.uid:
        body["preconditions"] = {"uid": pod.uid}
    await _request(api, calls.DELETE_POD, "DELETE", pod.namespace, f"pods/{pod.name}", body)


async def bind_gang(api: kr8s.asyncio.Api, placements: Sequence[Placement]) -> GangBinding:
    """Bind every placement in order; on the first failure, delete the pods bound so far.

    Binding in order (not concurrently) keeps the number of pods to roll back at most the
    gang's size minus one and makes the outcome deterministic for the same input.
    """
    bound: list[Placement] = []
    for placement in placements:
        try:
            await bind_pod(api, placement)
        except _API_FAILURES as err:
            rolled_back, failures = await _roll_back(api, [p.pod for p in bound])
            return GangBinding(
                bound=(),
                failed=placement,
                reason=f"binding {placement.pod} to {placement.node} failed: {_reason(err)}",
                rolled_back=rolled_back,
                rollback_failures=failures,
            )
        bound.append(placement)
    return GangBinding(bound=tuple(bound))


async def _roll_back(
    api: kr8s.asyncio.Api, pods: Sequence[PodRef]
) -> tuple[tuple[PodRef, ...], tuple[RollbackFailure, ...]]:
    done: list[PodRef] = []
    failures: list[RollbackFailure] = []
    for pod in pods:
        try:
            await delete_pod(api, pod)
        except _API_FAILURES as err:
            failures.append(RollbackFailure(pod, _reason(err)))
        else:
            done.append(pod)
    return tuple(done), tuple(failures)
