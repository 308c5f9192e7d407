"""Kubernetes Nodes → k8s4ai's Node inventory, AcceleratorClasses and TopologyDomain.

On a real cluster nobody writes k8s4ai Node manifests: NVIDIA GPU Feature Discovery (GFD)
already labels each node with its GPU product, count, memory and MIG configuration, the device
plugin advertises allocatable `nvidia.com/gpu`, and the well-known topology labels say where a
node sits. These pure functions turn the Node objects, as plain dicts the way the API returns
them, into the same models the embedded simulator loads from `examples/`, so the scheduler
sees one inventory whichever backend runs it.

Which label means what is `DiscoveryConfig`, not code, because clusters differ (rack labels
have no standard name, and some sites relabel GFD). A node whose labels cannot be read is
left out and reported as a `LabelProblem` naming the node, the label and why, so one badly
labelled node never hides the rest of the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from k8s4ai.api import accelerator, errors, meta, node, topology
from k8s4ai.api.units import Quantity

GPU_RESOURCE = "nvidia.com/gpu"

DEFAULT_LEVELS = (
    topology.TopologyLevel(
        name="region", node_label="topology.kubernetes.io/region", bandwidth_gbps=6.25
    ),
    topology.TopologyLevel(
        name="zone", node_label="topology.kubernetes.io/zone", bandwidth_gbps=12.5
    ),
    topology.TopologyLevel(name="block", node_label="k8s4ai.io/fabric-block", bandwidth_gbps=25),
    topology.TopologyLevel(name="rack", node_label="k8s4ai.io/rack", bandwidth_gbps=50),
    topology.TopologyLevel(name="node", node_label="kubernetes.io/hostname", bandwidth_gbps=450),
)
"""Broadest first. Bandwidths are nominal defaults (GB/s per GPU); set your fabric's own."""

_MIG_ALL = re.compile(r"^all-(?P<profile>[1-7]g\.[0-9]+gb(\+me)?)$")
_MIG_PROFILE = re.compile(r"^(?P<slices>[1-7])g\.(?P<gb>[0-9]+)gb(\+me)?$")
_PRODUCT_SUFFIX = re.compile(r"(-MIG-[1-7]g\.[0-9]+gb(\+me)?|-SHARED)$")
"""GFD appends these to `gpu.product` under the single MIG strategy and under time-slicing;
the hardware underneath is the same class."""
_NOT_IN_NAME = re.compile(r"[^a-z0-9.-]+")


class DiscoveryConfig(BaseModel):
    """Which node label holds which fact. A pydantic model so that it can be read from a
    ConfigMap or a file and validated like every other k8s4ai document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_label: str = "nvidia.com/gpu.product"
    count_label: str = "nvidia.com/gpu.count"
    memory_label: str = Field(
        default="nvidia.com/gpu.memory", description="Per-GPU memory in MiB, as GFD writes it"
    )
    family_label: str = "nvidia.com/gpu.family"
    mig_config_label: str = "nvidia.com/mig.config"
    nvlink_domain_label: str = Field(
        default="nvidia.com/gpu.clique",
        description="GPUs with equal values share an NVLink domain (multi-node NVLink)",
    )
    gpu_resource: str = GPU_RESOURCE
    mig_layouts: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Named mig-parted configs (e.g. all-balanced) → profiles on each GPU; "
        "`all-<profile>` and `all-disabled` need no entry",
    )
    topology_name: str = "default"
    levels: tuple[topology.TopologyLevel, ...] = DEFAULT_LEVELS

    @field_validator("levels")
    @classmethod
    def _levels_have_labels(
        cls, levels: tuple[topology.TopologyLevel, ...]
    ) -> tuple[topology.TopologyLevel, ...]:
        for level in levels:
            if not level.node_label:
                raise ValueError(f"level {level.name!r} needs a nodeLabel to be discovered")
        topology.TopologyDomainSpec(levels=list(levels))
        return levels


@dataclass(frozen=True, slots=True)
class LabelProblem:
    """Why one node was left out of the inventory."""

    node: str
    label: str
    reason: str

    def __str__(self) -> str:
        return f"node {self.node}: {self.label}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Inventory:
    """What a cluster's Nodes say, in k8s4ai's models. `accelerator_classes` holds only the
    classes that no given class matched: the operator creates those, and leaves classes a
    person wrote (with prices and throughput) alone."""

    nodes: tuple[node.Node, ...]
    accelerator_classes: tuple[accelerator.AcceleratorClass, ...]
    topology: topology.TopologyDomain | None
    problems: tuple[LabelProblem, ...] = field(default=())


class _LabelError(Exception):
    def __init__(self, label: str, reason: str) -> None:
        super().__init__(reason)
        self.label, self.reason = label, reason


@dataclass(frozen=True, slots=True)
class _Gpus:
    product: str
    count: int
    memory_mib: int | None
    family: str | None
    mig_layout: tuple[str, ...]
    nvlink_domain: str | None


def discover(
    kube_nodes: Iterable[Mapping[str, Any]],
    known_classes: Sequence[accelerator.AcceleratorClass] = (),
    config: DiscoveryConfig | None = None,
) -> Inventory:
    """The inventory the given Kubernetes Node dicts describe.

    A node's GPUs belong to the first of `known_classes` whose `nodeLabels` all match the
    node; otherwise to a class named after the GFD product (created here, with the VRAM from
    the memory label). Topology levels that no node carries are left out of the domain.
    """
    config = config or DiscoveryConfig()
    nodes: list[node.Node] = []
    problems: list[LabelProblem] = []
    new_classes: dict[str, accelerator.AcceleratorClass] = {}
    for kube_node in kube_nodes:
        name = str(kube_node.get("metadata", {}).get("name", "?"))
        try:
            nodes.append(_node(kube_node, known_classes, new_classes, config))
        except _LabelError as problem:
            problems.append(LabelProblem(name, problem.label, problem.reason))
    used = {level for n in nodes for level in n.spec.topology}
    levels = [level for level in config.levels if level.name in used]
    domain = (
        topology.TopologyDomain(
            metadata=meta.ObjectMeta(name=config.topology_name),
            spec=topology.TopologyDomainSpec(levels=levels),
        )
        if levels
        else None
    )
    return Inventory(
        nodes=tuple(nodes),
        accelerator_classes=tuple(new_classes.values()),
        topology=domain,
        problems=tuple(problems),
    )


def _node(
    kube_node: Mapping[str, Any],
    known_classes: Sequence[accelerator.AcceleratorClass],
    new_classes: dict[str, accelerator.AcceleratorClass],
    config: DiscoveryConfig,
) -> node.Node:
    metadata = kube_node.get("metadata", {})
    labels: dict[str, str] = dict(metadata.get("labels") or {})
    spec = kube_node.get("spec", {})
    allocatable: dict[str, Any] = dict(kube_node.get("status", {}).get("allocatable") or {})
    groups: list[node.GpuGroup] = []
    gpus = _gpus(labels, allocatable, config)
    if gpus is not None:
        class_name = _class_for(gpus, labels, known_classes, new_classes, config)
        groups.append(
            node.GpuGroup(
                accelerator_class=class_name,
                count=gpus.count,
                mig_layout=list(gpus.mig_layout),
                nvlink_domain=gpus.nvlink_domain,
            )
        )
    place: dict[str, str] = {}
    for level in config.levels:
        assert level.node_label is not None
        value = labels.get(level.node_label)
        if value is None:
            continue
        if not value:
            raise _LabelError(level.node_label, f"empty value for topology level {level.name!r}")
        place[level.name] = value
    try:
        return node.Node(
            metadata=meta.ObjectMeta(name=metadata["name"], labels=labels),
            spec=node.NodeSpec(
                cpu=_quantity(allocatable, "cpu"),
                memory=_quantity(allocatable, "memory"),
                gpus=groups,
                topology_name=config.topology_name if place else None,
                topology=place,
                unschedulable=bool(spec.get("unschedulable", False)),
                taints=[
                    node.Taint(key=t["key"], value=t.get("value", ""), effect=t["effect"])
                    for t in spec.get("taints") or []
                ],
            ),
        )
    except ValidationError as err:
        first = errors.from_validation_error(err)[0]
        raise _LabelError(first.path, first.reason) from None


def _quantity(allocatable: Mapping[str, Any], resource_name: str) -> Quantity:
    raw = allocatable.get(resource_name)
    if raw is None:
        raise _LabelError(f"status.allocatable.{resource_name}", "missing")
    try:
        return Quantity(raw)
    except ValueError as err:
        raise _LabelError(f"status.allocatable.{resource_name}", str(err)) from None


def _whole_number(label: str, raw: Any) -> int:
    text = str(raw)
    if not text.isdigit():
        raise _LabelError(label, f"{text!r} is not a whole number")
    return int(text)


def _gpus(
    labels: Mapping[str, str], allocatable: Mapping[str, Any], config: DiscoveryConfig
) -> _Gpus | None:
    """None for a node without GPUs the scheduler may use.

    Whole GPUs are counted from allocatable (what the kubelet will admit, and what a patched
    kind node advertises); a MIG-partitioned node from GFD's physical count, because the
    device plugin's single strategy advertises MIG instances as `nvidia.com/gpu`.
    """
    mig_layout = _mig_layout(labels, config)
    resource_label = f"status.allocatable.{config.gpu_resource}"
    raw_allocatable = allocatable.get(config.gpu_resource)
    allocatable_gpus = (
        0 if raw_allocatable is None else _whole_number(resource_label, raw_allocatable)
    )
    if mig_layout:
        if config.count_label not in labels:
            raise _LabelError(config.count_label, "missing; needed to count MIG-partitioned GPUs")
        count = _whole_number(config.count_label, labels[config.count_label])
    else:
        count = allocatable_gpus
    if count == 0:
        return None
    product = labels.get(config.product_label)
    if not product:
        raise _LabelError(
            config.product_label,
            f"missing, but the node offers {count} {config.gpu_resource}; label it with the "
            "GPU product (GPU Feature Discovery does) so it maps to an AcceleratorClass",
        )
    memory = labels.get(config.memory_label)
    return _Gpus(
        product=_PRODUCT_SUFFIX.sub("", product),
        count=count,
        memory_mib=None if memory is None else _whole_number(config.memory_label, memory),
        family=labels.get(config.family_label),
        mig_layout=mig_layout,
        nvlink_domain=labels.get(config.nvlink_domain_label),
    )


def _mig_layout(labels: Mapping[str, str], config: DiscoveryConfig) -> tuple[str, ...]:
    value = labels.get(config.mig_config_label)
    if value is None or value == "all-disabled":
        return ()
    if value in config.mig_layouts:
        return config.mig_layouts[value]
    if match := _MIG_ALL.match(value):
        profile = match.group("profile")
        slices = int(profile[0])
        return (profile,) * (accelerator.MIG_COMPUTE_SLICES // slices)
    raise _LabelError(
        config.mig_config_label,
        f"unknown MIG config {value!r}: expected all-disabled, all-<profile> (e.g. "
        "all-1g.10gb) or a name listed in the discovery config's migLayouts",
    )


def class_name(product: str) -> str:
    """A valid object name for a GFD product, e.g. NVIDIA-H100-80GB-HBM3 → nvidia-h100-80gb-hbm3."""
    return _NOT_IN_NAME.sub("-", product.lower()).strip("-.")[:253]


def _class_for(
    gpus: _Gpus,
    labels: Mapping[str, str],
    known_classes: Sequence[accelerator.AcceleratorClass],
    new_classes: dict[str, accelerator.AcceleratorClass],
    config: DiscoveryConfig,
) -> str:
    for known in known_classes:
        wanted = known.spec.node_labels
        if wanted and all(labels.get(k) == v for k, v in wanted.items()):
            return known.metadata.name
    name = class_name(gpus.product)
    if any(known.metadata.name == name for known in known_classes):
        return name
    if gpus.memory_mib is None:
        raise _LabelError(
            config.memory_label,
            f"missing; no AcceleratorClass matches product {gpus.product!r}, and a new one "
            "needs the GPU memory",
        )
    vram = Quantity(f"{gpus.memory_mib}Mi")
    existing = new_classes.get(name)
    if existing is not None:
        if existing.spec.vram != vram:
            raise _LabelError(
                config.memory_label,
                f"{gpus.memory_mib} MiB, but other {gpus.product} nodes report "
                f"{existing.spec.vram}",
            )
        profiles = {p.name for p in existing.spec.mig_profiles}
        if set(gpus.mig_layout) <= profiles:
            return name
    try:
        new_classes[name] = _new_class(name, gpus, vram, existing, config)
    except ValidationError as err:
        raise _LabelError(
            config.mig_config_label, str(errors.from_validation_error(err)[0])
        ) from None
    return name


def _new_class(
    name: str,
    gpus: _Gpus,
    vram: Quantity,
    existing: accelerator.AcceleratorClass | None,
    config: DiscoveryConfig,
) -> accelerator.AcceleratorClass:
    profiles = {p.name: p for p in existing.spec.mig_profiles} if existing else {}
    for profile in gpus.mig_layout:
        match = _MIG_PROFILE.match(profile)
        if match is None:
            raise _LabelError(config.mig_config_label, f"{profile!r} is not a MIG profile name")
        slices = int(match.group("slices"))
        profiles.setdefault(
            profile,
            accelerator.MigProfile(
                name=profile,
                compute_slices=slices,
                vram=min(Quantity(f"{match.group('gb')}Gi"), vram),
                max_per_gpu=accelerator.MIG_COMPUTE_SLICES // slices,
            ),
        )
    labels = {"k8s4ai.io/gpu-family": gpus.family} if gpus.family else {}
    return accelerator.AcceleratorClass(
        metadata=meta.ObjectMeta(name=name, labels=labels),
        spec=accelerator.AcceleratorClassSpec(
            model=gpus.product,
            vram=vram,
            resource_name=config.gpu_resource,
            mig_profiles=sorted(profiles.values(), key=lambda p: (p.compute_slices, p.name)),
            node_labels={config.product_label: gpus.product},
        ),
    )
