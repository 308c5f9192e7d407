"""Every Kubernetes API call the backend makes, declared once, so RBAC can be checked.

`deploy/rbac.yaml` must grant exactly these and nothing else: a test expands its rules into
(apiGroup, resource, verb) triples and compares them with `CLUSTER_CALLS` and
`NAMESPACE_CALLS`. Code in this package calls the API only through an `ApiCall` declared
here, so a new call without a grant (or a grant nobody calls) fails that test instead of a
403 on someone's cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s4ai.api import event, meta, registry


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One RBAC permission: `group` is "" for the core API, `resource` may name a
    subresource (`pods/binding`)."""

    group: str
    resource: str
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}.{self.group or 'core'}"


LIST_NODES = ApiCall("", "nodes", "list")
WATCH_NODES = ApiCall("", "nodes", "watch")
GET_POD = ApiCall("", "pods", "get")
LIST_PODS = ApiCall("", "pods", "list")
WATCH_PODS = ApiCall("", "pods", "watch")
BIND_POD = ApiCall("", "pods/binding", "create")
DELETE_POD = ApiCall("", "pods", "delete")
"""Rolls back a pod bound by a gang that failed midway: a bound pod cannot be unbound, and
its owner (Job, JobSet, LeaderWorkerSet) recreates it unbound."""
EVICT_POD = ApiCall("", "pods/eviction", "create")
"""Preemption: eviction honours PodDisruptionBudgets and the grace period."""
PATCH_POD_STATUS = ApiCall("", "pods/status", "patch")
"""Sets the PodScheduled condition, which `kubectl describe pod` shows for a pending pod."""
CREATE_EVENT = ApiCall("", "events", "create")
PATCH_EVENT = ApiCall("", "events", "patch")

GET_LEASE = ApiCall("coordination.k8s.io", "leases", "get")
CREATE_LEASE = ApiCall("coordination.k8s.io", "leases", "create")
UPDATE_LEASE = ApiCall("coordination.k8s.io", "leases", "update")

LIST_POD_GROUPS = ApiCall("scheduling.x-k8s.io", "podgroups", "list")
"""The coscheduling plugin's PodGroups: a gang's `minMember` when its pods name one."""
LIST_QUEUES = ApiCall(meta.API_GROUP, "queues", "list")
LIST_ACCELERATOR_CLASSES = ApiCall(meta.API_GROUP, "acceleratorclasses", "list")
"""Both among `_own_calls`: the controller reads the Queues and the classes people wrote."""

_READ = ("get", "list", "watch")
_INVENTORY = ("acceleratorclasses", "topologydomains", "nodes")
"""Kinds that discovery writes from the cluster's Nodes."""


def _own_calls() -> frozenset[ApiCall]:
    """Read every k8s4ai kind and write its status (the controllers do, through the store);
    create and replace the inventory discovery derives, delete inventory for vanished
    Nodes; create gangs for labelled pods and k8s4ai Events."""
    group = meta.API_GROUP
    calls = {ApiCall(group, kind.plural, verb) for kind in registry.KINDS for verb in _READ}
    calls |= {
        ApiCall(group, f"{kind.plural}/status", "update")
        for kind in registry.KINDS
        if kind is not event.Event
    }
    calls |= {ApiCall(group, plural, v) for plural in _INVENTORY for v in ("create", "update")}
    calls |= {
        ApiCall(group, "nodes", "delete"),
        ApiCall(group, "gangschedulinggroups", "create"),
        ApiCall(group, "events", "create"),
    }
    return frozenset(calls)


CLUSTER_CALLS: frozenset[ApiCall] = (
    frozenset(
        {
            LIST_NODES,
            WATCH_NODES,
            GET_POD,
            LIST_PODS,
            WATCH_PODS,
            BIND_POD,
            DELETE_POD,
            EVICT_POD,
            PATCH_POD_STATUS,
            CREATE_EVENT,
            PATCH_EVENT,
            LIST_POD_GROUPS,
        }
    )
    | _own_calls()
)
"""Granted by the ClusterRole: nodes are cluster-scoped and pods live in every namespace."""

NAMESPACE_CALLS: frozenset[ApiCall] = frozenset({GET_LEASE, CREATE_LEASE, UPDATE_LEASE})
"""Granted by a Role in the controller's own namespace: only its leader-election Lease."""
