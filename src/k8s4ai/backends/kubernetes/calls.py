"""Every Kubernetes API call the backend makes, declared once, so RBAC can be checked.

`deploy/rbac.yaml` must grant exactly these and nothing else: a test expands its rules into
(apiGroup, resource, verb) triples and compares them with `CLUSTER_CALLS` and
`NAMESPACE_CALLS`. Code in this package calls the API only through an `ApiCall` declared
here, so a new call without a grant (or a grant nobody calls) fails that test instead of a
403 on someone's cluster. Every call declared is also one the code makes: a test walks this
package's source and fails on a declaration nothing passes to a request, so a grant cannot
outlive the code that needed it.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s4ai.api import meta


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
LIST_PODS = ApiCall("", "pods", "list")
WATCH_PODS = ApiCall("", "pods", "watch")
BIND_POD = ApiCall("", "pods/binding", "create")
DELETE_POD = ApiCall("", "pods", "delete")
"""Rolls back the bound pods of a gang whose bind failed midway or that was found partly
bound: a bound pod cannot be unbound, and its owner (Job, JobSet, LeaderWorkerSet) recreates
it unbound."""
PATCH_POD_STATUS = ApiCall("", "pods/status", "patch")
"""Sets the PodScheduled condition, which `kubectl describe pod` shows for a pending pod."""
CREATE_EVENT = ApiCall("", "events", "create")
"""A FailedScheduling Event; each new reason is a new Event, so none is ever patched."""

GET_LEASE = ApiCall("coordination.k8s.io", "leases", "get")
CREATE_LEASE = ApiCall("coordination.k8s.io", "leases", "create")
UPDATE_LEASE = ApiCall("coordination.k8s.io", "leases", "update")

LIST_POD_GROUPS = ApiCall("scheduling.x-k8s.io", "podgroups", "list")
"""The coscheduling plugin's PodGroups: a gang's `minMember` when its pods name one."""
LIST_QUEUES = ApiCall(meta.API_GROUP, "queues", "list")
LIST_ACCELERATOR_CLASSES = ApiCall(meta.API_GROUP, "acceleratorclasses", "list")
"""The controller reads the Queues and the classes people wrote (with their prices); gangs
are read from pods, inventory is derived on every pass and kept in memory."""
LIST_BUDGETS = ApiCall(meta.API_GROUP, "budgets", "list")
"""Admission holds a job a hard Budget blocks; the cost loop keeps each Budget's spending."""
PATCH_BUDGET_STATUS = ApiCall(meta.API_GROUP, "budgets/status", "patch")
"""`status.spent` and `status.forecast`: the one k8s4ai kind the controller writes."""
LIST_PERSISTENT_VOLUMES = ApiCall("", "persistentvolumes", "list")
LIST_PERSISTENT_VOLUME_CLAIMS = ApiCall("", "persistentvolumeclaims", "list")
"""Volumes are assets priced by storage class, and charged to the pods that mount them."""

CLUSTER_CALLS: frozenset[ApiCall] = frozenset(
    {
        LIST_NODES,
        WATCH_NODES,
        LIST_PODS,
        WATCH_PODS,
        BIND_POD,
        DELETE_POD,
        PATCH_POD_STATUS,
        CREATE_EVENT,
        LIST_POD_GROUPS,
        LIST_QUEUES,
        LIST_ACCELERATOR_CLASSES,
        LIST_BUDGETS,
        PATCH_BUDGET_STATUS,
        LIST_PERSISTENT_VOLUMES,
        LIST_PERSISTENT_VOLUME_CLAIMS,
    }
)
"""Granted by the ClusterRole: nodes are cluster-scoped and pods live in every namespace."""

NAMESPACE_CALLS: frozenset[ApiCall] = frozenset({GET_LEASE, CREATE_LEASE, UPDATE_LEASE})
"""Granted by a Role in the controller's own namespace: only its leader-election Lease."""
