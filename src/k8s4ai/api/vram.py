"""VRAMPool: GPU memory on a set of nodes as one claimable resource, with which model weights
are resident where, so placement and routing can prefer warm GPUs.

There is no direct anchor in Kueue or Volcano; the nearest are KAI-Scheduler's GPU-memory
sharing requests and Kubernetes DRA's ResourceClaims over device memory.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from k8s4ai.api import meta, resource
from k8s4ai.api.units import Quantity


class ResidentModel(meta.Model):
    """Weights of one model kept loaded on the given nodes."""

    model: str = Field(min_length=1)
    size: Quantity
    nodes: list[meta.Name] = Field(default_factory=list)
    pinned: bool = Field(default=False, description="Never evicted to make room")


class VRAMPoolSpec(meta.Model):
    accelerator_class: meta.Name
    node_selector: meta.Labels = Field(default_factory=dict)
    reserved_per_gpu: Quantity = Field(
        default_factory=lambda: Quantity("2Gi"),
        description="Held back on every GPU for the CUDA context and fragmentation",
    )
    eviction_policy: Literal["LRU", "LFU", "Never"] = "LRU"
    resident_models: list[ResidentModel] = Field(default_factory=list)


class VRAMPoolStatus(meta.Status):
    capacity: Quantity | None = None
    allocated: Quantity | None = None
    gpus: int = 0


class VRAMPool(resource.Resource):
    kind_name: ClassVar[str] = "VRAMPool"
    plural: ClassVar[str] = "vrampools"
    short_names: ClassVar[tuple[str, ...]] = ("vram", "vp")
    namespaced: ClassVar[bool] = False
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Class", ".spec.acceleratorClass"),
        resource.PrinterColumn("Eviction", ".spec.evictionPolicy"),
        resource.PrinterColumn("Capacity", ".status.capacity"),
        resource.PrinterColumn("Allocated", ".status.allocated"),
    )

    kind: Literal["VRAMPool"] = "VRAMPool"
    spec: VRAMPoolSpec
    status: VRAMPoolStatus = Field(default_factory=VRAMPoolStatus)
