"""AcceleratorClass: a GPU model as the scheduler and cost model see it.

Mirrors Kueue's ResourceFlavor (node labels that identify the hardware) and KAI-Scheduler's
GPU-sharing knobs, and adds what those lack: VRAM, throughput, MIG profiles, interconnect and
price, so hardware knowledge lives on the hardware object rather than in tables in the core.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from k8s4ai.api import meta, resource
from k8s4ai.api.units import Quantity

MIG_COMPUTE_SLICES = 7
"""An A100/H100 splits into 7 compute slices (GPCs); a MIG layout never uses more."""
MIG_MEMORY_SLICES = 8
"""It has 8 memory slices: NVML places an instance at `start` with `size` memory slices
(`nvmlGpuInstancePlacement_t`), so memory, not compute, is what a 3g.40gb + 3g.40gb fills."""


class MigProfile(meta.Model):
    """One MIG instance shape, e.g. H100 `1g.10gb`: compute slices and its memory."""

    name: str = Field(pattern=r"^[1-7]g\.[0-9]+gb(\+me)?$")
    compute_slices: int = Field(ge=1, le=MIG_COMPUTE_SLICES)
    vram: Quantity
    max_per_gpu: int = Field(ge=1, le=MIG_COMPUTE_SLICES)

    # A class gives a profile only compute slices, VRAM and maxPerGpu; where an instance may
    # sit follows from them by the rule in `memory_slices` and `starts`, which reproduces
    # `nvidia-smi mig -lgipp` for the A100, H100, H200 and B200 (MIG User Guide, "List GPU
    # Instance Profiles", https://docs.nvidia.com/datacenter/tesla/mig-user-guide/).
    # Four-slice GPUs (A30) are not modelled.

    def memory_slices(self, gpu_vram: Quantity) -> int:
        """The profile's share of the GPU's memory in eighths, rounded (at least one): a
        3g.40gb takes 4 of an 80 GB GPU's 8 slices although it has only 3 of its 7 GPCs."""
        if not gpu_vram.value:
            return MIG_MEMORY_SLICES
        return max(1, round(self.vram.value * MIG_MEMORY_SLICES / gpu_vram.value))

    def starts(self, gpu_vram: Quantity) -> tuple[int, ...]:
        """The memory slices an instance may start at: multiples of its size rounded up to a
        power of two, with its memory within the 8 slices and its compute within the 7 GPCs
        (so a 1g never starts at slice 7, a 4g only at 0, a 3g at 0 or 4)."""
        memory = self.memory_slices(gpu_vram)
        align = 1 << (memory - 1).bit_length()
        return tuple(
            s
            for s in range(0, MIG_MEMORY_SLICES, align)
            if s + memory <= MIG_MEMORY_SLICES and s + self.compute_slices <= MIG_COMPUTE_SLICES
        )


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

    def mig_layout_problem(self, names: Sequence[str]) -> str | None:
        """Why one GPU of this class cannot hold an instance of each of `names` (profiles it
        offers) at once, or None when it can.

        Counting compute slices, memory slices and maxPerGpu is enough for NVIDIA's profile
        sets: the scheduler's placement search (`scheduler.vram.mig.arrange`) agrees on every
        A100 and H100 layout (a test enumerates them). It is only a necessary condition for
        hand-written profiles whose allowed starts exclude each other."""
        counts = Counter(names)
        profiles = {}
        for name in counts:
            profile = self.mig_profile(name)
            if profile is None:
                raise LookupError(f"no MIG profile {name!r}")
            if counts[name] > profile.max_per_gpu:
                return f"at most {profile.max_per_gpu} x {name} fit on one GPU"
            profiles[name] = profile
        compute = sum(p.compute_slices * counts[n] for n, p in profiles.items())
        if compute > MIG_COMPUTE_SLICES:
            return f"layout uses {compute} compute slices; a GPU has {MIG_COMPUTE_SLICES}"
        sizes = {n: p.memory_slices(self.vram) for n, p in profiles.items()}
        memory = sum(size * counts[n] for n, size in sizes.items())
        if memory > MIG_MEMORY_SLICES:
            each = ", ".join(f"{n} takes {size}" for n, size in sizes.items())
            return f"layout uses {memory} memory slices; a GPU has {MIG_MEMORY_SLICES} ({each})"
        return None


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
