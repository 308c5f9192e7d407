"""The live runtime's writes to a store, and its garbage collection.

Every write names the resourceVersion the change was computed from, so a status written
meanwhile by admission or the cost controller is never overwritten: the write fails with a
Conflict, is skipped, and the next step computes it again from the newer object (the runtime
is level-based). Events go through the same aggregation as the controllers'.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from k8s4ai.api import event, gang, selector
from k8s4ai.backends.sim import live_driver, live_runtime
from k8s4ai.controllers import events
from k8s4ai.store import errors, interface

GENERATED = selector.parse(f"{live_driver.SOURCE}=live")


@dataclass(frozen=True, slots=True)
class Written:
    written: int
    conflicts: int


def apply(
    store: interface.Store, changes: Sequence[live_runtime.Change], now: datetime
) -> Written:
    written = conflicts = 0
    for change in changes:
        obj = change.object
        try:
            for i, sub in enumerate(change.writes):
                stored = store.replace(obj, subresource=sub)
                if i + 1 < len(change.writes):
                    obj = stored.model_copy(update={"status": change.object.status})
        except (errors.Conflict, errors.NotFound):
            conflicts += 1
            continue
        written += 1
        for note in change.notes:
            try:
                events.record(store, change.object, note.reason, note.message, now, note.type)
            except (errors.Conflict, errors.AlreadyExists):
                continue
    return Written(written, conflicts)


def submit(store: interface.Store, gangs: Sequence[gang.GangSchedulingGroup]) -> int:
    """Creates the gangs; one whose name is taken (by a person, say) is skipped."""
    created = 0
    for g in gangs:
        try:
            store.create(g)
        except errors.AlreadyExists:
            continue
        created += 1
    return created


def generated(store: interface.Store) -> list[gang.GangSchedulingGroup]:
    items = store.list(gang.GangSchedulingGroup.kind_name, label_selector=GENERATED).items
    return [g for g in items if isinstance(g, gang.GangSchedulingGroup)]


def collect(store: interface.Store, gangs: Sequence[gang.GangSchedulingGroup], keep: int) -> int:
    """Deletes the generated gangs that finished longest ago beyond the newest `keep`, with
    their Events, so the store stays bounded however long the cluster runs."""
    done = sorted(
        (g for g in gangs if g.status.phase in ("Succeeded", "Failed")),
        key=lambda g: (_finished(g), g.key),
        reverse=True,
    )
    old = done[keep:]
    if not old:
        return 0
    doomed = {(g.metadata.namespace or "default", g.metadata.name) for g in old}
    for namespace in sorted({ns for ns, _ in doomed}):
        for e in store.list(event.Event.kind_name, namespace=namespace).items:
            ref = e.spec.involved_object if isinstance(e, event.Event) else None
            if ref is None or ref.kind != gang.GangSchedulingGroup.kind_name:
                continue
            if (namespace, ref.name) in doomed:
                _delete(store, event.Event.kind_name, e.metadata.name, namespace)
    for g in old:
        version = g.metadata.resource_version
        _delete(store, g.kind_name, g.metadata.name, g.metadata.namespace, version)
    return len(old)


def _finished(g: gang.GangSchedulingGroup) -> float:
    done = g.status.completion_time
    return 0.0 if done is None else done.timestamp()


def _delete(
    store: interface.Store, kind: str, name: str, namespace: str | None, version: str | None = None
) -> None:
    with contextlib.suppress(errors.NotFound, errors.Conflict):
        store.delete(kind, name, namespace, resource_version=version)
