"""Small builders for the objects store tests write, so each test states only what it is
about (`builders.gang("job-1", gpus=4)`) and goes through the real models' validation."""

from __future__ import annotations

from typing import Any

from k8s4ai.api import GangSchedulingGroup, Queue, resource


def metadata(
    name: str,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    resource_version: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name}
    if namespace is not None:
        data["namespace"] = namespace
    if labels is not None:
        data["labels"] = labels
    if annotations is not None:
        data["annotations"] = annotations
    if resource_version is not None:
        data["resourceVersion"] = resource_version
    return data


def queue(
    name: str = "team-a",
    *,
    weight: float = 1.0,
    cohort: str | None = None,
    status: dict[str, Any] | None = None,
    **meta: Any,
) -> Queue:
    spec: dict[str, Any] = {"weight": weight}
    if cohort is not None:
        spec["cohort"] = cohort
    data: dict[str, Any] = {"kind": "Queue", "metadata": metadata(name, **meta), "spec": spec}
    if status is not None:
        data["status"] = status
    return Queue.model_validate(data)


def gang(
    name: str = "job-1",
    *,
    queue: str = "team-a",
    gpus: float = 8,
    count: int = 1,
    priority: int = 0,
    **meta: Any,
) -> GangSchedulingGroup:
    return GangSchedulingGroup.model_validate(
        {
            "kind": "GangSchedulingGroup",
            "metadata": metadata(name, **meta),
            "spec": {
                "queue": queue,
                "priority": priority,
                "podSets": [{"name": "worker", "count": count, "resources": {"gpus": gpus}}],
            },
        }
    )


def rv(obj: resource.Resource) -> int:
    assert obj.metadata.resource_version is not None
    return int(obj.metadata.resource_version)
