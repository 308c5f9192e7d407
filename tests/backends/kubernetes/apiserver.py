"""kube-apiserver's consistency rules served over HTTP through kmock's routing.

kmock's emulator stores objects but has no resourceVersion: no optimistic concurrency (which
leader election relies on), no watch from a version, no 410 Gone, no Binding. This server
keeps its own objects with one version counter, as etcd's revision is, and a log of changes
that watches replay from the version they ask for. Tests mark the module with
`pytest.mark.kmock(cls=kmock.KubernetesScaffold)` so the emulator's own store stays out.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import kmock

GPU = "nvidia.com/gpu"

Key = tuple[str, str | None, str]
"""(plural, namespace, name); namespace None for cluster-scoped kinds."""

RESOURCES = (
    kmock.resource("", "v1", "pods"),
    kmock.resource("", "v1", "nodes"),
    kmock.resource("", "v1", "events"),
    kmock.resource("", "v1", "persistentvolumes"),
    kmock.resource("", "v1", "persistentvolumeclaims"),
    kmock.resource("coordination.k8s.io", "v1", "leases"),
    kmock.resource("scheduling.x-k8s.io", "v1alpha1", "podgroups"),
    kmock.resource("k8s4ai.io", "v1alpha1", "queues"),
    kmock.resource("k8s4ai.io", "v1alpha1", "acceleratorclasses"),
    kmock.resource("k8s4ai.io", "v1alpha1", "budgets"),
)


def status(code: int, reason: str, message: str) -> kmock.Response:
    payload = {"kind": "Status", "status": "Failure", "code": code, "reason": reason}
    return kmock.Response(status=code, payload=payload | {"message": message})


@dataclass
class Change:
    version: int
    plural: str
    type: str
    object: dict[str, Any]


class ApiServer:
    def __init__(self, mock: kmock.KubernetesScaffold) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.version = 0
        self.log: list[Change] = []
        self.oldest = 0
        """Watches from a version below this are told 410 Gone (the log was compacted)."""
        self.refuse: dict[tuple[str, str], kmock.Response] = {}
        """(plural or subresource, name) -> the answer instead of the write."""
        self.requests: list[tuple[str, str, str]] = []
        """(method, plural[/subresource], name) of every write, in order."""
        self.watching = 0
        self.overcommits: list[str] = []
        """Binds that left a node with more GPUs requested than allocatable (the kubelet
        would refuse the pod; the real API server accepts the Binding all the same)."""
        self._changed = asyncio.Condition()
        self._generation = 0
        for resource in RESOURCES:
            mock[resource] << self._serve

    # -- what tests do directly --------------------------------------------------------
    def put(self, plural: str, obj: dict[str, Any]) -> None:
        """Create or replace an object as another client would (e.g. a Job controller)."""
        meta = obj["metadata"]
        key = (plural, meta.get("namespace"), meta["name"])
        kind = "MODIFIED" if key in self.objects else "ADDED"
        self._commit(key, kind, copy.deepcopy(obj))

    def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.objects.get((plural, namespace, name))

    def node_of(self, namespace: str, name: str) -> str | None:
        pod = self.get("pods", namespace, name)
        return None if pod is None else str(pod["spec"].get("nodeName", ""))

    def drop_watches(self) -> None:
        """End every open watch stream, as a server restart or a load balancer would."""
        self._generation += 1
        self._notify()

    def compact(self) -> None:
        """Forget the change log: a watch resuming from before now gets 410 Gone."""
        self.oldest = self.version + 1
        self.log.clear()

    def bindings(self) -> list[str]:
        return [name for method, what, name in self.requests if what == "pods/binding"]

    # -- the API ----------------------------------------------------------------------
    def _notify(self) -> None:
        async def wake() -> None:
            async with self._changed:
                self._changed.notify_all()

        asyncio.get_running_loop().create_task(wake())

    def _commit(self, key: Key, kind: str, obj: dict[str, Any] | None) -> dict[str, Any]:
        self.version += 1
        if obj is None:
            gone = self.objects.pop(key)
            gone["metadata"]["resourceVersion"] = str(self.version)
            obj = gone
        else:
            meta = obj["metadata"]
            meta["resourceVersion"] = str(self.version)
            meta.setdefault("uid", f"uid-{key[2]}")
            self.objects[key] = obj
        self.log.append(Change(self.version, key[0], kind, copy.deepcopy(obj)))
        self._notify()
        return obj

    def _serve(self, request: kmock.Request) -> kmock.Response:
        """Always a Response with its status: kmock keeps the status of a reaction's last
        Response for the plain payloads it returns after."""
        answer = self._answer(request)
        if isinstance(answer, kmock.Response):
            return answer
        return kmock.Response(status=200, payload=answer)

    def _answer(self, request: kmock.Request) -> Any:
        assert request.resource is not None
        plural = request.resource.plural or ""
        if request.action == kmock.action.WATCH:
            return self._watch(plural, request)
        method = str(request.method.value).upper()
        what = f"{plural}/{request.subresource}" if request.subresource else plural
        if method != "GET":
            self.requests.append((method, what, request.name or ""))
            refused = self.refuse.get((what, request.name or ""))
            if refused is not None:
                return refused
        if method == "GET" and request.name is None:
            items = [
                copy.deepcopy(o)
                for (p, ns, _), o in sorted(self.objects.items(), key=lambda kv: str(kv[0]))
                if p == plural and request.namespace in (None, ns)
            ]
            return {"metadata": {"resourceVersion": str(self.version)}, "items": items}
        if method == "POST" and request.subresource == "binding":
            return self._bind(request)
        if method == "POST":
            body = request.data
            key = (plural, request.namespace, body["metadata"]["name"])
            if key in self.objects:
                return status(409, "AlreadyExists", f"{plural} {key[2]} already exists")
            body["metadata"].setdefault("namespace", request.namespace)
            return kmock.Response(status=201, payload=self._commit(key, "ADDED", body))
        key = (plural, request.namespace, request.name or "")
        current = self.objects.get(key)
        if current is None:
            return status(404, "NotFound", f'{plural} "{key[2]}" not found')
        if method == "GET":
            return copy.deepcopy(current)
        if method == "PUT":
            given = request.data["metadata"].get("resourceVersion")
            if given != current["metadata"]["resourceVersion"]:
                return status(409, "Conflict", "the object has been modified")
            return self._commit(key, "MODIFIED", copy.deepcopy(request.data))
        if method == "PATCH":
            return self._commit(key, "MODIFIED", _merge(copy.deepcopy(current), request.data))
        if method == "DELETE":
            uid = ((request.data or {}).get("preconditions") or {}).get("uid")
            if uid and uid != current["metadata"]["uid"]:
                return status(409, "Conflict", "precondition failed: uid")
            return self._commit(key, "DELETED", None)
        return status(405, "MethodNotAllowed", method)

    def _bind(self, request: kmock.Request) -> Any:
        key = ("pods", request.namespace, request.name or "")
        pod = self.objects.get(key)
        if pod is None:
            return status(404, "NotFound", f'pods "{key[2]}" not found')
        if request.data["metadata"].get("uid") not in (None, pod["metadata"]["uid"]):
            return status(409, "Conflict", "uid mismatch")
        if pod["spec"].get("nodeName"):
            return status(409, "Conflict", f"pod {key[2]} is already assigned to a node")
        bound = copy.deepcopy(pod)
        node = request.data["target"]["name"]
        bound["spec"]["nodeName"] = node
        self._commit(key, "MODIFIED", bound)
        used, allocatable = self.gpus_used(node), self.gpus_allocatable(node)
        if used > allocatable:
            self.overcommits.append(f"{node}: {used} of {allocatable} GPUs after {key[2]}")
        return kmock.Response(status=201, payload={"kind": "Status", "status": "Success"})

    def gpus_allocatable(self, node: str) -> int:
        found = self.get("nodes", None, node)
        allocatable = ((found or {}).get("status") or {}).get("allocatable") or {}
        return int(allocatable.get(GPU, 0))

    def gpus_used(self, node: str) -> int:
        """GPUs requested (or, without a request, limited) by the unfinished pods on `node`."""
        total = 0
        for (plural, _, _), pod in self.objects.items():
            if plural != "pods" or pod["spec"].get("nodeName") != node:
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            for container in pod["spec"].get("containers") or []:
                resources = container.get("resources") or {}
                wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
                total += int(wanted.get(GPU, 0))
        return total

    async def _watch(self, plural: str, request: kmock.Request) -> AsyncIterator[bytes]:
        generation = self._generation
        since = request.params.get("resourceVersion")
        yield b""
        if since and int(since) < self.oldest:
            gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
            yield _line({"type": "ERROR", "object": gone})
            return
        position = int(since) if since else self.version
        if not since:
            for (p, ns, _), obj in sorted(self.objects.items(), key=lambda kv: str(kv[0])):
                if p == plural and request.namespace in (None, ns):
                    yield _line({"type": "ADDED", "object": obj})
        self.watching += 1
        try:
            while generation == self._generation:
                for change in [c for c in self.log if c.version > position]:
                    position = change.version
                    ns = change.object["metadata"].get("namespace")
                    if change.plural == plural and request.namespace in (None, ns):
                        yield _line({"type": change.type, "object": change.object})
                async with self._changed:
                    if generation == self._generation and self.version == position:
                        await self._changed.wait()
        finally:
            self.watching -= 1


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode() + b"\n"


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A strategic merge patch, for the one list it matters for: conditions merge by type."""
    for key, value in patch.items():
        if key == "conditions" and isinstance(value, list):
            by_type = {c["type"]: c for c in target.get(key) or []}
            by_type.update({c["type"]: c for c in value})
            target[key] = list(by_type.values())
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return target
