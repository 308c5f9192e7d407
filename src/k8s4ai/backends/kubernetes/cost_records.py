"""A cluster as cost-ledger segments (`controllers.cost_ledger.Record`), the same records the
embedded plane derives from its statuses, so one tracker, journal and budget code serve both.

- Assets: each Node's GPUs (its class as `discovery` maps it: a written AcceleratorClass whose
  `nodeLabels` match, else the GPU product's), cores and memory from its *capacity* (the bill
  is the machine, not what the kubelet admits), on its market (spot labels as in
  `cost_ledger.market`), from its creation; each PersistentVolume's size in its storage
  class, from its creation.
- Allocations: each bound pod, whoever placed it, from when it was scheduled until it
  finished: whole GPUs (`nvidia.com/gpu`), MIG slices (`nvidia.com/mig-<profile>`, each its
  share of the GPU's compute slices), cores and memory as requested (a limit standing in for
  a missing request); and its share of each PersistentVolume it mounts (split evenly among
  the running pods that mount it, so a volume nobody mounts is OpenCost's `__unmounted__`).

Labels are the pod's own (team, project, experiment, model... as users write them), plus
`namespace`, `pod`, `node`, `queue` (k8s4ai's or Kueue's queue label, as `workloads` reads
it) and `job` (the gang, else the owning Job or other controller, else the pod).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from k8s4ai.api import accelerator, node, units
from k8s4ai.backends.kubernetes import discovery, workloads
from k8s4ai.controllers import cost_ledger
from k8s4ai.finops import allocation, ledger, pricing

log = logging.getLogger(__name__)

MIG_PREFIX = "nvidia.com/mig-"
JOB_NAME = "batch.kubernetes.io/job-name"


@dataclass(frozen=True, slots=True)
class Holdings:
    records: tuple[cost_ledger.Record, ...]
    classes: tuple[accelerator.AcceleratorClass, ...]
    """Every class the records price GPUs by: the written ones and those discovery made."""
    problems: tuple[str, ...] = ()
    """What was left out, and why."""


def _time(text: Any) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    found: Mapping[str, Any] = obj.get("metadata") or {}
    return found


def _by_capacity(kube_node: Mapping[str, Any]) -> dict[str, Any]:
    status = dict(kube_node.get("status") or {})
    if status.get("capacity"):
        status["allocatable"] = status["capacity"]
    return {**kube_node, "status": status}


def holdings(
    kube_nodes: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    volumes: Iterable[Mapping[str, Any]] = (),
    claims: Iterable[Mapping[str, Any]] = (),
    written: Sequence[accelerator.AcceleratorClass] = (),
    config: discovery.DiscoveryConfig | None = None,
) -> Holdings:
    """The segments the cluster shows: open ones, and those of finished pods."""
    kube_nodes = list(kube_nodes)
    inventory = discovery.discover([_by_capacity(n) for n in kube_nodes], written, config)
    problems = [str(p) for p in inventory.problems]
    classes = {c.metadata.name: c for c in (*written, *inventory.accelerator_classes)}
    found = {n.metadata.name: n for n in inventory.nodes}
    out: list[cost_ledger.Record] = []
    nodes: dict[str, node.Node] = {}
    for kube_node in kube_nodes:
        m = _meta(kube_node)
        n = found.get(str(m.get("name", "")))
        if n is None:
            continue
        created = _time(m.get("creationTimestamp"))
        dated = n.model_copy(update={"metadata": n.metadata.model_copy(update={
            "uid": m.get("uid") or m.get("name"),
            "creation_timestamp": None if created is None else datetime.fromtimestamp(
                created, UTC
            ),
        })})
        nodes[n.metadata.name] = dated
        out.extend(cost_ledger.node_assets(dated))
    pods = [p for p in pods if (p.get("spec") or {}).get("nodeName")]
    shares, volume_records = _volumes(volumes, claims, pods)
    out.extend(volume_records)
    for pod in pods:
        try:
            out.extend(_pod(pod, nodes, classes, shares, problems))
        except ValueError as err:
            m = _meta(pod)
            problems.append(f"pod {m.get('namespace')}/{m.get('name')}: {err}")
    return Holdings(tuple(out), tuple(classes.values()), tuple(problems))


def _held_window(pod: Mapping[str, Any]) -> tuple[float, float | None] | None:
    """[start, end) the pod held its node: from its scheduling (PodScheduled=True, else its
    start, else its creation) to its last container's end once it finished; None when it
    holds nothing to count (finished at no known time, or not yet dated)."""
    status = pod.get("status") or {}
    scheduled = next(
        (c.get("lastTransitionTime") for c in status.get("conditions") or []
         if c.get("type") == "PodScheduled" and c.get("status") == "True"),
        None,
    )
    start = _time(scheduled) or _time(status.get("startTime")) or _time(
        _meta(pod).get("creationTimestamp")
    )
    if start is None:
        return None
    if status.get("phase") not in workloads.DONE:
        return start, None
    ends = [
        _time(((c.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for c in status.get("containerStatuses") or []
    ]
    known = [e for e in ends if e is not None]
    return (start, max(start, max(known))) if known else None


def _job(pod: Mapping[str, Any]) -> str:
    m = _meta(pod)
    tagged = {**(m.get("annotations") or {}), **(m.get("labels") or {})}
    for key in (workloads.GANG, workloads.POD_GROUP, JOB_NAME):
        if tagged.get(key):
            return str(tagged[key])
    owners = m.get("ownerReferences") or []
    return str(owners[0].get("name")) if owners else str(m.get("name", ""))


def labels_of(pod: Mapping[str, Any]) -> dict[str, str]:
    m = _meta(pod)
    own = {str(k): str(v) for k, v in (m.get("labels") or {}).items()}
    out = {
        **own,
        "namespace": str(m.get("namespace") or "default"),
        "pod": str(m.get("name", "")),
        "node": str((pod.get("spec") or {}).get("nodeName", "")),
        "job": _job(pod),
    }
    queue = own.get(workloads.QUEUE) or own.get(workloads.KUEUE_QUEUE)
    if queue:
        out["queue"] = queue
    return out


def _mig(pod: Mapping[str, Any]) -> dict[str, int]:
    """MIG slices the pod's containers ask for, by profile (the device plugin's mixed
    strategy: `nvidia.com/mig-1g.10gb: 1`)."""
    out: dict[str, int] = {}
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for name, amount in wanted.items():
            if str(name).startswith(MIG_PREFIX):
                profile = str(name)[len(MIG_PREFIX):]
                out[profile] = out.get(profile, 0) + int(units.Quantity(str(amount)).value)
    return out


def _pod(
    pod: Mapping[str, Any],
    nodes: Mapping[str, node.Node],
    classes: Mapping[str, accelerator.AcceleratorClass],
    shares: Mapping[tuple[str, str], Sequence[tuple[str, pricing.RateKey, float]]],
    problems: list[str],
) -> list[cost_ledger.Record]:
    """Its segments; GPUs that cannot be priced (their node was left out of discovery) are
    left out and reported in `problems`, its cores and memory still counted."""
    window = _held_window(pod)
    if window is None:
        return []
    start, end = window
    m = _meta(pod)
    uid = str(m.get("uid") or f"{m.get('namespace')}/{m.get('name')}")
    host = nodes.get(str((pod.get("spec") or {}).get("nodeName")))
    how = cost_ledger.market(host) if host is not None else pricing.Market.ON_DEMAND
    wanted = workloads.requests(pod)
    amounts: dict[pricing.RateKey, float] = {
        pricing.RateKey(pricing.ResourceKind.CPU, market=how): units.Quantity(wanted["cpu"]).cores,
        pricing.RateKey(pricing.ResourceKind.MEMORY, market=how): units.Quantity(
            wanted["memory"]
        ).gib,
    }
    slices = _mig(pod)
    if wanted["gpus"] or slices:
        group = host.spec.gpus[0] if host is not None and host.spec.gpus else None
        accel = classes.get(group.accelerator_class) if group is not None else None
        if accel is None:
            problems.append(
                f"pod {m.get('namespace')}/{m.get('name')}: its GPUs are left out: node "
                f"{(pod.get('spec') or {}).get('nodeName')} has no AcceleratorClass to price "
                "them by"
            )
        else:
            share = float(wanted["gpus"]) + sum(
                count * ledger.mig_fraction(accel, profile) for profile, count in slices.items()
            )
            amounts[pricing.RateKey(pricing.ResourceKind.GPU, accel.metadata.name, how)] = share
    labels = labels_of(pod)
    out = [
        cost_ledger.Record(f"pod/{uid}/{rate}", "allocation", rate, amount, start, end, labels,
                           uid)
        for rate, amount in amounts.items()
        if amount > 0
    ]
    key = (str(m.get("namespace") or "default"), str(m.get("name", "")))
    for volume, rate, amount in shares.get(key, ()):
        out.append(cost_ledger.Record(
            f"pod/{uid}/volume/{volume}", "allocation", rate, amount, start, end,
            {**labels, allocation.VOLUME: volume}, uid,
        ))
    return out


def _volumes(
    volumes: Iterable[Mapping[str, Any]],
    claims: Iterable[Mapping[str, Any]],
    pods: Sequence[Mapping[str, Any]],
) -> tuple[dict[tuple[str, str], list[tuple[str, pricing.RateKey, float]]],
           list[cost_ledger.Record]]:
    """Each PersistentVolume as an asset, and each running pod's share of the volumes it
    mounts, by (namespace, pod)."""
    sized: dict[str, tuple[pricing.RateKey, float]] = {}
    assets: list[cost_ledger.Record] = []
    for volume_obj in volumes:
        m, spec = _meta(volume_obj), volume_obj.get("spec") or {}
        name = str(m.get("name", ""))
        size = (spec.get("capacity") or {}).get("storage")
        start = _time(m.get("creationTimestamp"))
        if size is None or start is None:
            continue
        rate = pricing.RateKey(pricing.ResourceKind.STORAGE, spec.get("storageClassName") or "")
        gib = units.Quantity(str(size)).gib
        sized[name] = (rate, gib)
        claim = spec.get("claimRef") or {}
        labels = {allocation.VOLUME: name}
        if claim.get("namespace"):
            labels |= {"namespace": str(claim["namespace"]), "pvc": str(claim.get("name", ""))}
        uid = str(m.get("uid") or name)
        assets.append(cost_ledger.Record(f"pv/{uid}/{rate}", "asset", rate, gib, start, None,
                                         labels, uid))
    bound = {
        (str(_meta(c).get("namespace") or "default"), str(_meta(c).get("name", ""))):
        str((c.get("spec") or {}).get("volumeName") or "")
        for c in claims
    }
    mounts: dict[str, list[tuple[str, str]]] = {}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in workloads.DONE:
            continue
        m = _meta(pod)
        namespace = str(m.get("namespace") or "default")
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            pv = bound.get((namespace, str(claim))) if claim else None
            if pv and pv in sized:
                mounts.setdefault(pv, []).append((namespace, str(m.get("name", ""))))
    shares: dict[tuple[str, str], list[tuple[str, pricing.RateKey, float]]] = {}
    for pv, users in mounts.items():
        rate, gib = sized[pv]
        for user in users:
            shares.setdefault(user, []).append((pv, rate, gib / len(users)))
    return shares, assets

