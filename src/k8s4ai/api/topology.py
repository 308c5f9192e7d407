"""TopologyDomain: the levels of a cluster's network tree and the bandwidth at each.

Mirrors Kueue's Topology (an ordered list of node-label levels, broadest first) and Volcano's
HyperNode tiers; bandwidth per level is ours, so placement can price crossing a level. A node
says where it sits by giving a value per level (Node.spec.topology).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from k8s4ai.api import meta, resource


class TopologyLevel(meta.Model):
    """One tier of the tree, e.g. `rack`, and how fast traffic moves within it."""

    name: str = Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]*$")
    node_label: str | None = Field(
        default=None, description="Node label holding this level's value on a real cluster"
    )
    bandwidth_gbps: float = Field(gt=0, description="GB/s per GPU between members")
    latency_us: float | None = Field(default=None, ge=0)


class TopologyDomainSpec(meta.Model):
    levels: list[TopologyLevel] = Field(min_length=1, description="Broadest level first")

    @model_validator(mode="after")
    def _levels_unique(self) -> TopologyDomainSpec:
        names = [level.name for level in self.levels]
        if len(names) != len(set(names)):
            raise ValueError("levels: level names must be unique")
        return self

    def level(self, name: str) -> TopologyLevel | None:
        return next((level for level in self.levels if level.name == name), None)

    def level_names(self) -> list[str]:
        return [level.name for level in self.levels]


class TopologyDomainStatus(meta.Status):
    domains: dict[str, int] = Field(
        default_factory=dict, description="Number of distinct domains per level"
    )


class TopologyDomain(resource.Resource):
    kind_name: ClassVar[str] = "TopologyDomain"
    plural: ClassVar[str] = "topologydomains"
    short_names: ClassVar[tuple[str, ...]] = ("topo", "td")
    namespaced: ClassVar[bool] = False
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Levels", ".spec.levels[*].name"),
    )

    kind: Literal["TopologyDomain"] = "TopologyDomain"
    spec: TopologyDomainSpec
    status: TopologyDomainStatus = Field(default_factory=TopologyDomainStatus)
