"""InferenceService: a model served by N replicas of an engine (vLLM, SGLang).

Mirrors KServe's InferenceService (model, runtime, min/max replicas) and llm-d's model
service; replicas are placed by the same GPU rules as training pods and fronted by a
ContentRouter.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from k8s4ai.api import meta, resource, workload
from k8s4ai.api.units import Quantity


class InferenceServiceSpec(meta.Model):
    model: str = Field(min_length=1, description="Model id, e.g. meta-llama/Llama-3.1-8B")
    model_size: Quantity | None = Field(default=None, description="Weights in GPU memory")
    runtime: Literal["vllm", "sglang", "tgi", "mock"] = "vllm"
    replicas: int = Field(default=1, ge=0)
    min_replicas: int | None = Field(default=None, ge=0)
    max_replicas: int | None = Field(default=None, ge=1)
    resources: workload.PodResources = Field(default_factory=workload.PodResources)
    queue: meta.Name | None = None
    router: meta.Name | None = Field(default=None, description="ContentRouter in front of it")
    lora_adapters: list[str] = Field(default_factory=list)
    max_model_len: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _replica_bounds(self) -> InferenceServiceSpec:
        low = self.min_replicas if self.min_replicas is not None else self.replicas
        high = self.max_replicas if self.max_replicas is not None else self.replicas
        if not low <= self.replicas <= high:
            raise ValueError(
                f"replicas: {self.replicas} is outside minReplicas..maxReplicas ({low}..{high})"
            )
        return self


class InferenceServiceStatus(meta.Status):
    """Load and latency are measured at the service's router; empty means not measured."""

    ready_replicas: int = 0
    endpoints: list[str] = Field(default_factory=list)
    requests_per_second: float | None = Field(default=None, ge=0)
    latency_p95: float | None = Field(
        default=None, ge=0, description="95th percentile time to first token (ms)"
    )
    last_sample_time: datetime | None = Field(
        default=None, description="When the router took these figures"
    )


class InferenceService(resource.Resource):
    kind_name: ClassVar[str] = "InferenceService"
    plural: ClassVar[str] = "inferenceservices"
    short_names: ClassVar[tuple[str, ...]] = ("isvc", "infer")
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Model", ".spec.model"),
        resource.PrinterColumn("Runtime", ".spec.runtime"),
        resource.PrinterColumn("Replicas", ".spec.replicas", "integer"),
        resource.PrinterColumn("Ready", ".status.readyReplicas", "integer"),
        resource.PrinterColumn("Router", ".spec.router", wide_only=True),
    )

    kind: Literal["InferenceService"] = "InferenceService"
    spec: InferenceServiceSpec
    status: InferenceServiceStatus = Field(default_factory=InferenceServiceStatus)
