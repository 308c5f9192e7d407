"""Budget: a spending limit on the GPU, storage and serving cost of a team, project or queue.

Mirrors Kubecost/OpenCost budgets (a scope by labels, an amount per period, alerts at
thresholds) and adds actions the scheduler can take, since it controls admission.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from k8s4ai.api import meta, resource


class BudgetThreshold(meta.Model):
    percent: float = Field(gt=0, le=1000)
    action: Literal["notify", "block-new", "preempt"] = "notify"


class BudgetSpec(meta.Model):
    selector: meta.Labels = Field(
        default_factory=dict, description="Labels of the jobs and services it covers"
    )
    queues: list[meta.Name] = Field(default_factory=list)
    amount: float = Field(gt=0)
    currency: Literal["USD", "EUR", "GBP", "CNY", "JPY"] = "USD"
    period: Literal["daily", "weekly", "monthly", "quarterly", "total"] = "monthly"
    start: date | None = None
    thresholds: list[BudgetThreshold] = Field(
        default_factory=lambda: [BudgetThreshold(percent=80), BudgetThreshold(percent=100)]
    )

    @model_validator(mode="after")
    def _scope(self) -> BudgetSpec:
        if not self.selector and not self.queues:
            raise ValueError("set `selector` or `queues`: a budget must say what it covers")
        return self


class BudgetStatus(meta.Status):
    spent: float = 0.0
    forecast: float | None = None


class Budget(resource.Resource):
    kind_name: ClassVar[str] = "Budget"
    plural: ClassVar[str] = "budgets"
    short_names: ClassVar[tuple[str, ...]] = ("bg",)
    namespaced: ClassVar[bool] = False
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Amount", ".spec.amount", "number"),
        resource.PrinterColumn("Period", ".spec.period"),
        resource.PrinterColumn("Spent", ".status.spent", "number"),
        resource.PrinterColumn("Forecast", ".status.forecast", "number", wide_only=True),
    )

    kind: Literal["Budget"] = "Budget"
    spec: BudgetSpec
    status: BudgetStatus = Field(default_factory=BudgetStatus)
