"""GangSchedulingGroup: a job's pods admitted and placed as one unit.

Mirrors Volcano's PodGroup (minMember, queue, priority), Kueue's Workload (pod sets with
counts and resources, admission status) and KAI-Scheduler's PodGroup topology constraints
(required/preferred topology level).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from k8s4ai.api import meta, resource, workload
from k8s4ai.api.units import Duration, Quantity


class PodSet(meta.Model):
    """`count` identical pods, e.g. the 8 workers of a data-parallel job."""

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    count: int = Field(default=1, ge=1)
    resources: workload.PodResources = Field(default_factory=workload.PodResources)
    image: str | None = None


class TopologyConstraint(meta.Model):
    """Keep a gang inside one domain of a level (required) or try to (preferred)."""

    topology_name: meta.Name = "default"
    required: str | None = Field(default=None, description="Level all pods must share")
    preferred: str | None = Field(default=None, description="Level tried first, then wider")

    @model_validator(mode="after")
    def _one_level(self) -> TopologyConstraint:
        if self.required is None and self.preferred is None:
            raise ValueError("set `required` or `preferred` to a level name")
        return self


class GangSchedulingGroupSpec(meta.Model):
    queue: meta.Name
    priority: int = 0
    pod_sets: list[PodSet] = Field(min_length=1)
    min_member: int | None = Field(
        default=None, ge=1, description="Pods that must start together; all pods when unset"
    )
    topology: TopologyConstraint | None = None
    checkpoint_policy: meta.Name | None = None
    estimated_duration: Duration | None = Field(
        default=None, description="Expected run time; used for backfill and cost forecasts"
    )
    suspend: bool = False

    @model_validator(mode="after")
    def _members(self) -> GangSchedulingGroupSpec:
        names = [pod_set.name for pod_set in self.pod_sets]
        if len(names) != len(set(names)):
            raise ValueError("podSets: names must be unique")
        if self.min_member is not None and self.min_member > self.total_pods():
            raise ValueError(
                f"minMember: {self.min_member} is more than the {self.total_pods()} pods "
                "the pod sets declare"
            )
        return self

    def total_pods(self) -> int:
        return sum(pod_set.count for pod_set in self.pod_sets)

    def total_gpus(self) -> float:
        return sum(p.count * p.resources.gpus for p in self.pod_sets)


GangPhase = Literal["Pending", "Admitted", "Running", "Succeeded", "Failed", "Preempted"]


class PodSetAssignment(meta.Model):
    name: str
    nodes: list[str] = Field(default_factory=list)
    accelerator_class: str | None = None


class GangSchedulingGroupStatus(meta.Status):
    phase: GangPhase = "Pending"
    queue: str | None = None
    assignments: list[PodSetAssignment] = Field(default_factory=list)
    start_time: datetime | None = None
    completion_time: datetime | None = None
    last_checkpoint_time: datetime | None = None
    restarts: int = 0
    progress: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of the job's work done, as its runtime reports it",
    )
    checkpoint_progress: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="`progress` at the last checkpoint; a restart resumes here",
    )
    reason: str | None = Field(
        default=None, description="Why the job last stopped, as the runtime says: OOMKilled, Error"
    )
    exit_code: int | None = Field(default=None, description="Exit code of the pod that failed")
    peak_memory: Quantity | None = Field(
        default=None, description="Highest memory any pod of the job was seen using"
    )


class GangSchedulingGroup(resource.Resource):
    kind_name: ClassVar[str] = "GangSchedulingGroup"
    plural: ClassVar[str] = "gangschedulinggroups"
    short_names: ClassVar[tuple[str, ...]] = ("gang", "gangs", "gsg", "job", "jobs")
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Queue", ".spec.queue"),
        resource.PrinterColumn("Pods", ".spec.podSets[*].count"),
        resource.PrinterColumn("GPUs/pod", ".spec.podSets[*].resources.gpus"),
        resource.PrinterColumn("Priority", ".spec.priority", "integer"),
        resource.PrinterColumn("Phase", ".status.phase"),
        resource.PrinterColumn("Topology", ".spec.topology.required", wide_only=True),
    )

    kind: Literal["GangSchedulingGroup"] = "GangSchedulingGroup"
    spec: GangSchedulingGroupSpec
    status: GangSchedulingGroupStatus = Field(default_factory=GangSchedulingGroupStatus)
