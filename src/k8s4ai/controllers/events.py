"""Recording Events the way Kubernetes aggregates them: one Event per object and reason, its
count and lastTimestamp bumped when it happens again, so a flapping object cannot flood the
store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from k8s4ai.api import event, meta, resource
from k8s4ai.store import errors, interface


@dataclass(frozen=True, slots=True)
class Note:
    """An Event to record once the change it explains is written."""

    reason: str
    message: str
    type: Literal["Normal", "Warning"] = "Normal"


def event_name(obj: resource.Resource, reason: str) -> str:
    return f"{obj.singular()}.{obj.metadata.name}.{reason.lower()}"[:253].rstrip(".-")


def record(
    store: interface.Store,
    obj: resource.Resource,
    reason: str,
    message: str,
    now: datetime,
    type_: Literal["Normal", "Warning"] = "Normal",
) -> event.Event:
    namespace = obj.metadata.namespace or "default"
    name = event_name(obj, reason)
    try:
        existing = store.get(event.Event.kind_name, name, namespace)
    except errors.NotFound:
        existing = None
    if isinstance(existing, event.Event):
        spec = existing.spec.model_copy(
            update={
                "count": existing.spec.count + 1,
                "message": message,
                "last_timestamp": now,
                "type": type_,
            }
        )
        updated = existing.model_copy(update={"spec": spec})
        result = store.replace(updated)
    else:
        created = event.Event(
            metadata=meta.ObjectMeta(name=name, namespace=namespace),
            spec=event.EventSpec(
                involved_object=event.ObjectReference(
                    kind=obj.kind,
                    name=obj.metadata.name,
                    namespace=obj.metadata.namespace,
                    uid=obj.metadata.uid,
                ),
                type=type_,
                reason=reason,
                message=message,
                first_timestamp=now,
                last_timestamp=now,
            ),
        )
        result = store.create(created)
    assert isinstance(result, event.Event)
    return result
