"""What one pod asks for: CPU, memory and a GPU share (whole GPUs, a fraction, a MIG slice, or
an amount of VRAM). Shared by training pod sets and inference replicas so both are placed by
the same rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, PlainSerializer, model_validator

from k8s4ai.api import meta
from k8s4ai.api.units import Quantity

GpuCount = Annotated[
    float, PlainSerializer(lambda v: int(v) if v == int(v) else v, return_type=int | float)
]
"""GPUs as written: `8` stays `8` on the way out, `0.25` stays a fraction."""


class PodResources(meta.Model):
    cpu: Quantity = Field(default_factory=lambda: Quantity("1"))
    memory: Quantity = Field(default_factory=lambda: Quantity("4Gi"))
    gpus: GpuCount = Field(
        default=0, ge=0, description="Whole GPUs (1, 8), or a fraction of one GPU (0.25)"
    )
    accelerator_class: meta.Name | None = Field(
        default=None, description="AcceleratorClass the GPUs must be; any class when unset"
    )
    mig_profile: str | None = Field(default=None, description="MIG instance, e.g. 1g.10gb")
    vram: Quantity | None = Field(
        default=None, description="GPU memory needed per GPU; packs shared GPUs by memory"
    )

    @model_validator(mode="after")
    def _gpu_shape(self) -> PodResources:
        if self.gpus > 1 and self.gpus != int(self.gpus):
            raise ValueError(f"gpus: {self.gpus} is neither a whole number nor a fraction below 1")
        if self.mig_profile is not None:
            if self.gpus not in (0, 1):
                raise ValueError("gpus: a MIG profile is one slice of one GPU; leave gpus at 1")
            if self.accelerator_class is None:
                raise ValueError(
                    "acceleratorClass: required with migProfile, to know which profiles exist"
                )
        if self.vram is not None and self.gpus == 0 and self.mig_profile is None:
            raise ValueError("vram: set gpus (a fraction or whole GPUs) together with vram")
        return self

    @property
    def wants_gpu(self) -> bool:
        return self.gpus > 0 or self.mig_profile is not None
