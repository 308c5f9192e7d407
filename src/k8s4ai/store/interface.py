"""The contract every store (embedded SQLite, CRDs on Kubernetes, the HTTP client) keeps, so
the CLI and controllers do not care which one they talk to.

Semantics follow the Kubernetes API server:
- resourceVersion is one global, strictly increasing counter (as a decimal string on objects);
  every write gets a new one, and a watch event carries the version of its write.
- A write that names `metadata.resourceVersion` succeeds only if it is still current
  (else Conflict); one that leaves it unset is unconditional.
- `generation` starts at 1 and increments only when `spec` changes.
- A spec write (`replace`, `patch`) keeps the stored status; a status write keeps the spec,
  labels and annotations.
- `apply` is all-or-nothing over its batch, and an object equal to the stored one in spec,
  labels and annotations is left untouched (same resourceVersion).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from k8s4ai.api import resource, selector

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
Subresource = Literal["spec", "status"]
ApplyOutcome = Literal["created", "configured", "unchanged"]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    object: resource.Resource
    resource_version: int


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[resource.Resource]
    resource_version: int


@dataclass(frozen=True, slots=True)
class ApplyResult:
    outcome: ApplyOutcome
    object: resource.Resource


class Store(Protocol):
    def create(self, obj: resource.Resource) -> resource.Resource: ...

    def get(self, kind: str, name: str, namespace: str | None = None) -> resource.Resource: ...

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: selector.Selector = selector.Selector(),
    ) -> ListResult: ...

    def replace(
        self, obj: resource.Resource, subresource: Subresource = "spec"
    ) -> resource.Resource: ...

    def patch(
        self,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Mapping[str, Any],
        subresource: Subresource = "spec",
    ) -> resource.Resource: ...

    def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = None,
        resource_version: str | None = None,
    ) -> resource.Resource: ...

    def apply(self, objs: Sequence[resource.Resource]) -> builtins.list[ApplyResult]: ...

    def events(
        self,
        since: int,
        kind: str | None = None,
        namespace: str | None = None,
        label_selector: selector.Selector = selector.Selector(),
        limit: int = 1000,
    ) -> builtins.list[WatchEvent]:
        """Events with resourceVersion > since, oldest first; Gone if `since` was compacted."""
        ...

    def wait(self, after: int, timeout: float) -> int:
        """Block until some write newer than `after` exists or `timeout` passes; returns the
        latest resourceVersion. Sees writes by other processes sharing the same store too."""
        ...

    def resource_version(self) -> int: ...

    def close(self) -> None: ...
