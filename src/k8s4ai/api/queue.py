"""Queue: a team's share of the cluster.

Mirrors Kueue's ClusterQueue in a Cohort (nominal quota per resource and flavor, borrowing
and lending limits, preemption policy), Volcano's Queue weight and KAI-Scheduler's queue
over-quota weight, which together give fair sharing of what is idle.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from k8s4ai.api import meta, resource
from k8s4ai.api.units import Quantity


class ResourceQuota(meta.Model):
    """Quota of one resource (`gpu`, `cpu`, `memory`), optionally of one accelerator class."""

    resource: Literal["gpu", "cpu", "memory", "vram"]
    accelerator_class: meta.Name | None = Field(
        default=None, description="Only for gpu/vram: the class this quota is in"
    )
    nominal: Quantity
    borrowing_limit: Quantity | None = Field(
        default=None, description="Most this queue may borrow from its cohort; unlimited if unset"
    )
    lending_limit: Quantity | None = Field(
        default=None, description="Most of its unused quota the cohort may borrow"
    )

    @model_validator(mode="after")
    def _limits(self) -> ResourceQuota:
        if self.accelerator_class is not None and self.resource not in ("gpu", "vram"):
            raise ValueError("acceleratorClass: only gpu and vram quotas name a class")
        if self.lending_limit is not None and self.lending_limit.value > self.nominal.value:
            raise ValueError(
                f"lendingLimit: {self.lending_limit} exceeds nominal quota {self.nominal}"
            )
        return self


class QueuePreemption(meta.Model):
    within_queue: Literal["Never", "LowerPriority", "LowerOrNewerEqualPriority"] = "LowerPriority"
    reclaim_within_cohort: Literal["Never", "LowerPriority", "Any"] = "Any"
    borrow_within_cohort: Literal["Never", "LowerPriority"] = "Never"


class QueueSpec(meta.Model):
    cohort: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    weight: float = Field(default=1.0, gt=0, description="Share of idle capacity under contention")
    quotas: list[ResourceQuota] = Field(default_factory=list)
    preemption: QueuePreemption = Field(default_factory=QueuePreemption)
    namespaces: list[meta.NamespaceName] = Field(
        default_factory=list, description="Namespaces whose jobs may use it; all when empty"
    )
    stop_policy: Literal["None", "Hold", "HoldAndDrain"] = "None"

    @model_validator(mode="after")
    def _quotas(self) -> QueueSpec:
        seen: set[tuple[str, str | None]] = set()
        for quota in self.quotas:
            key = (quota.resource, quota.accelerator_class)
            if key in seen:
                cls = f" ({quota.accelerator_class})" if quota.accelerator_class else ""
                raise ValueError(f"quotas: {quota.resource}{cls} is listed twice")
            seen.add(key)
            if quota.borrowing_limit is not None and self.cohort is None:
                raise ValueError("quotas: borrowingLimit needs a cohort to borrow from")
        return self


class ResourceUsage(meta.Model):
    resource: str
    accelerator_class: str | None = None
    used: Quantity
    borrowed: Quantity | None = None


class QueueStatus(meta.Status):
    pending: int = 0
    admitted: int = 0
    usage: list[ResourceUsage] = Field(default_factory=list)


class Queue(resource.Resource):
    kind_name: ClassVar[str] = "Queue"
    plural: ClassVar[str] = "queues"
    short_names: ClassVar[tuple[str, ...]] = ("q",)
    namespaced: ClassVar[bool] = False
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Cohort", ".spec.cohort"),
        resource.PrinterColumn("Weight", ".spec.weight", "number"),
        resource.PrinterColumn("Pending", ".status.pending", "integer"),
        resource.PrinterColumn("Admitted", ".status.admitted", "integer"),
    )

    kind: Literal["Queue"] = "Queue"
    spec: QueueSpec
    status: QueueStatus = Field(default_factory=QueueStatus)
