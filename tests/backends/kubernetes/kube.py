"""Kubernetes Node objects as the API returns them, for discovery and mock-server tests."""

from __future__ import annotations

from typing import Any

H100 = "NVIDIA-H100-80GB-HBM3"


def kube_node(
    name: str,
    gpus: int = 8,
    product: str | None = H100,
    memory_mib: int | None = 81559,
    rack: str | None = "r1",
    zone: str | None = "z1",
    cpu: str = "192",
    memory: str = "2Ti",
    **labels: str,
) -> dict[str, Any]:
    """A GFD-labelled node; extra labels are given with `__` for `/` and `_` for `.`."""
    all_labels = {"kubernetes.io/hostname": name}
    if product is not None:
        all_labels["nvidia.com/gpu.product"] = product
        all_labels["nvidia.com/gpu.count"] = str(gpus)
    if memory_mib is not None:
        all_labels["nvidia.com/gpu.memory"] = str(memory_mib)
    if rack is not None:
        all_labels["k8s4ai.io/rack"] = rack
    if zone is not None:
        all_labels["topology.kubernetes.io/zone"] = zone
    all_labels.update({k.replace("__", "/").replace("_", "."): v for k, v in labels.items()})
    allocatable: dict[str, str] = {"cpu": cpu, "memory": memory, "pods": "110"}
    if gpus:
        allocatable["nvidia.com/gpu"] = str(gpus)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": all_labels, "uid": f"uid-{name}"},
        "spec": {},
        "status": {"allocatable": allocatable, "capacity": dict(allocatable)},
    }


def kube_pod(
    name: str,
    namespace: str = "team-a",
    gpus: int = 8,
    cpu: str = "16",
    memory: str = "64Gi",
    node: str = "",
    scheduler: str = "k8s4ai",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    created: str = "2026-01-01T00:00:00Z",
    priority: int | None = None,
) -> dict[str, Any]:
    """A pod as the API returns it; GPUs as a limit only, as users usually write them."""
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": memory}}
    if gpus:
        resources["limits"] = {"nvidia.com/gpu": str(gpus)}
    spec: dict[str, Any] = {
        "schedulerName": scheduler,
        "containers": [{"name": "main", "image": "trainer", "resources": resources}],
    }
    if node:
        spec["nodeName"] = node
    if priority is not None:
        spec["priority"] = priority
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "labels": labels or {},
            "annotations": annotations or {},
            "creationTimestamp": created,
        },
        "spec": spec,
        "status": {"phase": "Pending"},
    }


H100_CLASS = "nvidia-h100-80gb-hbm3"
"""The AcceleratorClass discovery names for H100 nodes."""


def kube_queue(name: str, gpus: int, cohort: str | None = None) -> dict[str, Any]:
    """A k8s4ai Queue as the cluster lists it (with server-set metadata)."""
    spec: dict[str, Any] = {
        "quotas": [
            {"resource": "gpu", "acceleratorClass": H100_CLASS, "nominal": gpus},
            {"resource": "cpu", "nominal": "1000"},
            {"resource": "memory", "nominal": "16Ti"},
        ]
    }
    if cohort:
        spec["cohort"] = cohort
    return {
        "apiVersion": "k8s4ai.io/v1alpha1",
        "kind": "Queue",
        "metadata": {"name": name, "uid": f"uid-{name}", "generation": 1},
        "spec": spec,
    }


def gang_pods(gang: str, count: int, queue: str, gpus: int = 4, **kw: Any) -> list[dict[str, Any]]:
    labels = {"k8s4ai.io/gang": gang, "k8s4ai.io/queue": queue}
    annotations = {"k8s4ai.io/min-member": str(count)}
    return [
        kube_pod(f"{gang}-{i}", gpus=gpus, labels=labels, annotations=annotations, **kw)
        for i in range(count)
    ]
