"""Node: the inventory of one machine as the GPU scheduler needs it.

Mirrors a Kubernetes Node's capacity plus what NVIDIA's GPU feature discovery labels expose
(product, count, MIG config), grouped so that a node with eight identical GPUs in one NVLink
domain is one line. On a real cluster the operator fills this from the Kubernetes Node.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from k8s4ai.api import meta, resource
from k8s4ai.api.units import Quantity


class GpuGroup(meta.Model):
    """`count` identical GPUs of one AcceleratorClass, optionally MIG-partitioned."""

    accelerator_class: meta.Name
    count: int = Field(ge=1)
    mig_layout: list[str] = Field(
        default_factory=list, description="MIG profiles on each GPU; empty means whole GPUs"
    )
    nvlink_domain: str | None = Field(
        default=None, description="GPUs in the same domain talk over NVLink"
    )


class Taint(meta.Model):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class NodeSpec(meta.Model):
    cpu: Quantity
    memory: Quantity
    gpus: list[GpuGroup] = Field(default_factory=list)
    topology_name: meta.Name | None = Field(
        default=None, description="The TopologyDomain whose levels `topology` uses"
    )
    topology: dict[str, str] = Field(
        default_factory=dict, description="Level name → domain, e.g. {zone: z1, rack: r3}"
    )
    unschedulable: bool = False
    taints: list[Taint] = Field(default_factory=list)

    def gpu_count(self) -> int:
        return sum(group.count for group in self.gpus)


class NodeStatus(meta.Status):
    allocated_gpus: float = 0.0
    allocated_cpu: Quantity | None = None
    allocated_memory: Quantity | None = None


class Node(resource.Resource):
    kind_name: ClassVar[str] = "Node"
    plural: ClassVar[str] = "nodes"
    short_names: ClassVar[tuple[str, ...]] = ("no",)
    namespaced: ClassVar[bool] = False
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("GPUs", ".spec.gpus[*].count"),
        resource.PrinterColumn("Class", ".spec.gpus[*].acceleratorClass"),
        resource.PrinterColumn("CPU", ".spec.cpu"),
        resource.PrinterColumn("Memory", ".spec.memory"),
        resource.PrinterColumn("Topology", ".spec.topology", wide_only=True),
    )

    kind: Literal["Node"] = "Node"
    spec: NodeSpec
    status: NodeStatus = Field(default_factory=NodeStatus)
