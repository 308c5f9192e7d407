"""Manifest builders with realistic defaults (H100s, a rack topology, a team queue)."""

from __future__ import annotations

import copy
from typing import Any, Self

from k8s4ai.api import meta, registry, resource

Manifest = dict[str, Any]

H100_MIG = [
    {"name": "1g.10gb", "computeSlices": 1, "vram": "10Gi", "maxPerGpu": 7},
    {"name": "3g.40gb", "computeSlices": 3, "vram": "40Gi", "maxPerGpu": 2},
    {"name": "7g.80gb", "computeSlices": 7, "vram": "80Gi", "maxPerGpu": 1},
]


def _object(kind: str, name: str, spec: Manifest, namespace: str | None = None) -> Manifest:
    metadata: Manifest = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": meta.GROUP_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def accelerator_class(
    name: str = "h100", vram: str = "80Gi", mig: list[Manifest] | None = None, **spec: Any
) -> Manifest:
    body = {"model": f"{name.upper()}-TEST", "vram": vram, "migProfiles": mig or [], **spec}
    return _object("AcceleratorClass", name, body)


def topology(name: str = "default", levels: tuple[str, ...] = ("zone", "rack", "node")) -> Manifest:
    bandwidth = [12.5 * 2**i for i in range(len(levels))]
    spec = {
        "levels": [
            {"name": lv, "bandwidthGbps": bw} for lv, bw in zip(levels, bandwidth, strict=True)
        ]
    }
    return _object("TopologyDomain", name, spec)


def node(
    name: str,
    accelerator: str = "h100",
    gpus: int = 8,
    rack: str = "r1",
    mig_layout: list[str] | None = None,
) -> Manifest:
    group: Manifest = {"acceleratorClass": accelerator, "count": gpus}
    if mig_layout:
        group["migLayout"] = mig_layout
    spec = {
        "cpu": "128",
        "memory": "1Ti",
        "gpus": [group],
        "topologyName": "default",
        "topology": {"zone": "z1", "rack": rack, "node": name},
    }
    return _object("Node", name, spec)


def queue(
    name: str, gpus: int = 16, accelerator: str = "h100", cohort: str | None = None
) -> Manifest:
    spec: Manifest = {
        "quotas": [{"resource": "gpu", "acceleratorClass": accelerator, "nominal": gpus}]
    }
    if cohort:
        spec["cohort"] = cohort
    return _object("Queue", name, spec)


def inference_service(
    name: str, namespace: str = "default", model: str = "tiny", replicas: int = 1, **spec: Any
) -> Manifest:
    return _object("InferenceService", name, {"model": model, "replicas": replicas, **spec},
                   namespace)  # fmt: skip


def content_router(name: str, namespace: str = "default", **spec: Any) -> Manifest:
    """`spec` as the manifest spells it: service=..., endpoints=[...], policy=..., port=..."""
    return _object("ContentRouter", name, spec, namespace)


def typed(manifest: Manifest) -> resource.Resource:
    """The typed object a manifest describes, as the store takes it."""
    return registry.by_kind(manifest["kind"]).model_validate(manifest)


def checkpoint_policy(name: str = "hourly", namespace: str = "default") -> Manifest:
    spec = {"interval": "1h", "storage": {"uri": f"s3://ckpt/{name}"}}
    return _object("CheckpointPolicy", name, spec, namespace)


class Gang:
    """A GangSchedulingGroup manifest built step by step; `build()` returns a fresh dict."""

    def __init__(self, name: str, namespace: str = "default") -> None:
        self._manifest = _object(
            "GangSchedulingGroup",
            name,
            {"queue": "team-a", "podSets": [{"name": "worker", "count": 1, "resources": {}}]},
            namespace,
        )

    @property
    def _spec(self) -> Manifest:
        spec: Manifest = self._manifest["spec"]
        return spec

    @property
    def _resources(self) -> Manifest:
        resources: Manifest = self._spec["podSets"][0]["resources"]
        return resources

    def queue(self, name: str) -> Self:
        self._spec["queue"] = name
        return self

    def count(self, pods: int) -> Self:
        self._spec["podSets"][0]["count"] = pods
        return self

    def gpus(self, gpus: float, accelerator: str | None = "h100") -> Self:
        self._resources["gpus"] = gpus
        if accelerator:
            self._resources["acceleratorClass"] = accelerator
        return self

    def mig(self, profile: str, accelerator: str = "h100") -> Self:
        self._resources.update({"gpus": 1, "migProfile": profile, "acceleratorClass": accelerator})
        return self

    def vram(self, amount: str) -> Self:
        self._resources["vram"] = amount
        return self

    def topology(self, required: str | None = None, preferred: str | None = None) -> Self:
        constraint = {"required": required, "preferred": preferred}
        self._spec["topology"] = {k: v for k, v in constraint.items() if v}
        return self

    def checkpoint(self, policy: str) -> Self:
        self._spec["checkpointPolicy"] = policy
        return self

    def priority(self, priority: int) -> Self:
        self._spec["priority"] = priority
        return self

    def labels(self, **labels: str) -> Self:
        self._manifest["metadata"]["labels"] = labels
        return self

    def build(self) -> Manifest:
        return copy.deepcopy(self._manifest)


def gang(name: str, namespace: str = "default") -> Gang:
    return Gang(name, namespace)
