"""AcceleratorClass: a GPU model as the scheduler and cost model see it.

Mirrors Kueue's ResourceFlavor (node labels that identify the hardware) and KAI-Scheduler's
GPU-sharing knobs, and adds what those lack: VRAM, throughput, MIG profiles, interconnect and
price, so hardware knowledge lives on the hardware object rather than in tables in the core.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from k8s4ai.api import meta, resource
from k8s4ai.api.units import Quantity

MIG_COMPUTE_SLICES = 7
"""An A100/H100 splits into 7 compute slices; a MIG layout never uses more."""


class MigProfile(meta.Model):
    """One MIG instance shape, e.g. H100 `1g.10gb`: compute slices and its memory."""

    name: str = Field(pattern=r"^[1-7]g\.[0-9]+gb(\+me)?$")
    compute_slices: int = Field(ge=1, le=MIG_COMPUTE_SLICES)
    vram: Quantity
    max_per_gpu: int = Field(ge=1, le=MIG_COMPUTE_SLICES)


class Interconnect(meta.Model):
    """How GPUs on one node talk: NVLink/NVSwitch domains or plain PCIe."""

    kind: Literal["nvlink", "nvswitch", "pcie", "infinity-fabric"] = "pcie"
    bandwidth_gbps: float = Field(default=64.0, gt=0, description="GB/s per GPU, one way")
    domain_size: int = Field(default=1, ge=1, description="GPUs sharing one NVLink domain")


class AcceleratorClassSpec(meta.Model):
    vendor: str = "nvidia"
    model: str = Field(min_length=1, description="Product name, e.g. H100-SXM5-80GB")
    vram: Quantity
    resource_name: str = "nvidia.com/gpu"
    fp8_tflops: float | None = Field(default=None, ge=0)
    bf16_tflops: float | None = Field(default=None, ge=0)
    mig_profiles: list[MigProfile] = Field(default_factory=list)
    interconnect: Interconnect = Field(default_factory=Interconnect)
    price_per_hour: float = Field(default=0.0, ge=0, description="USD per GPU-hour")
    allow_fractional: bool = Field(
        default=True, description="Whether pods may share one GPU by fraction or VRAM"
    )
    node_labels: meta.Labels = Field(
        default_factory=dict, description="Labels that identify nodes with this GPU"
    )

    @model_validator(mode="after")
    def _profiles_fit(self) -> AcceleratorClassSpec:
        names = [p.name for p in self.mig_profiles]
        if len(names) != len(set(names)):
            raise ValueError("migProfiles: profile names must be unique")
        for profile in self.mig_profiles:
            if profile.vram.value > self.vram.value:
                raise ValueError(
                    f"migProfiles: {profile.name} has more VRAM ({profile.vram}) than the GPU "
                    f"({self.vram})"
                )
        return self

    def mig_profile(self, name: str) -> MigProfile | None:
        return next((p for p in self.mig_profiles if p.name == name), None)


class AcceleratorClassStatus(meta.Status):
    nodes: int = 0
    gpus: int = 0
    allocated_gpus: float = 0.0


class AcceleratorClass(resource.Resource):
    kind_name: ClassVar[str] = "AcceleratorClass"
    plural: ClassVar[str] = "acceleratorclasses"
    short_names: ClassVar[tuple[str, ...]] = ("ac", "accel")
    namespaced: ClassVar[bool] = False
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Model", ".spec.model"),
        resource.PrinterColumn("VRAM", ".spec.vram"),
        resource.PrinterColumn("$/h", ".spec.pricePerHour", "number"),
        resource.PrinterColumn("GPUs", ".status.gpus", "integer"),
        resource.PrinterColumn("Interconnect", ".spec.interconnect.kind", wide_only=True),
    )

    kind: Literal["AcceleratorClass"] = "AcceleratorClass"
    spec: AcceleratorClassSpec
    status: AcceleratorClassStatus = Field(default_factory=AcceleratorClassStatus)
