"""CheckpointPolicy: when a job saves its state, where, and how it resumes.

No Kubernetes scheduler models this; the closest are Volcano Job lifecycle policies
(restart on PodEvicted) and TorchElastic's restart budget. Making it a resource lets the
scheduler price preemption by the work it loses.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from k8s4ai.api import meta, resource
from k8s4ai.api.units import Duration, Quantity


class CheckpointStorage(meta.Model):
    uri: str = Field(min_length=1, description="e.g. s3://bucket/ckpt or pvc://name/path")
    storage_class: str | None = None
    size: Quantity | None = None


class CheckpointPolicySpec(meta.Model):
    interval: Duration | Literal["auto"] = Field(
        default="auto",
        description="Fixed interval, or `auto` for the Young-Daly optimum from observed MTBF",
    )
    checkpoint_duration: Duration = Field(
        default_factory=lambda: Duration("2m"), description="Time one checkpoint takes"
    )
    before_preemption: bool = True
    preemption_grace_period: Duration = Field(default_factory=lambda: Duration("5m"))
    storage: CheckpointStorage
    retention: int = Field(default=3, ge=1, description="Checkpoints kept")
    resume: Literal["latest", "none"] = "latest"
    max_restarts: int = Field(default=10, ge=0)
    restart_backoff: Duration = Field(default_factory=lambda: Duration("30s"))

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> object:
        if value == "auto" or not isinstance(value, str | int | float):
            return value
        return Duration(value)


class CheckpointPolicyStatus(meta.Status):
    jobs: int = 0


class CheckpointPolicy(resource.Resource):
    kind_name: ClassVar[str] = "CheckpointPolicy"
    plural: ClassVar[str] = "checkpointpolicies"
    short_names: ClassVar[tuple[str, ...]] = ("ckpt", "cp")
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Interval", ".spec.interval"),
        resource.PrinterColumn("Before preemption", ".spec.beforePreemption", "boolean"),
        resource.PrinterColumn("Storage", ".spec.storage.uri"),
        resource.PrinterColumn("Retention", ".spec.retention", "integer", wide_only=True),
    )

    kind: Literal["CheckpointPolicy"] = "CheckpointPolicy"
    spec: CheckpointPolicySpec
    status: CheckpointPolicyStatus = Field(default_factory=CheckpointPolicyStatus)
