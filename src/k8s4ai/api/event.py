"""Event: something that happened to an object (admitted, preempted, checkpointed), for people.

Mirrors Kubernetes core/v1 Event (involvedObject, type, reason, message, count, timestamps);
its fields sit under `spec` so every k8s4ai kind has the same shape in the store.
`k8s4ai describe` shows an object's recent events.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from k8s4ai.api import meta, resource


class ObjectReference(meta.Model):
    kind: str
    name: str
    namespace: str | None = None
    uid: str | None = None


class EventSpec(meta.Model):
    involved_object: ObjectReference
    type: Literal["Normal", "Warning"] = "Normal"
    reason: str = Field(min_length=1, pattern=r"^[A-Z][A-Za-z0-9]*$")
    message: str = ""
    count: int = Field(default=1, ge=1)
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    reporting_component: str = "k8s4ai"


class Event(resource.Resource):
    kind_name: ClassVar[str] = "Event"
    plural: ClassVar[str] = "events"
    short_names: ClassVar[tuple[str, ...]] = ("ev",)
    printer_columns: ClassVar[tuple[resource.PrinterColumn, ...]] = (
        resource.PrinterColumn("Type", ".spec.type"),
        resource.PrinterColumn("Reason", ".spec.reason"),
        resource.PrinterColumn("Object", ".spec.involvedObject.name"),
        resource.PrinterColumn("Message", ".spec.message"),
    )

    kind: Literal["Event"] = "Event"
    spec: EventSpec
