"""`k8s4ai describe`: one object for a person: metadata, spec, status, conditions, events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
import yaml

from k8s4ai.api import event, gang, resource, selector
from k8s4ai.cli import context, errors, printers
from k8s4ai.store import errors as store_errors
from k8s4ai.store import interface

RECENT_EVENTS = 20


@click.command("describe")
@click.argument("kind")
@click.argument("names", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.pass_obj
def command(target: context.Target, kind: str, names: tuple[str, ...], namespace: str) -> None:
    """Show objects of KIND in detail, with their conditions and recent events.

    \b
    Example:
      k8s4ai describe gang llama-70b-sft -n team-a
    """
    cls = errors.kind_or_fail(kind)
    try:
        with context.connect(target) as store:
            for i, name in enumerate(names):
                obj = store.get(cls.kind_name, name, namespace if cls.namespaced else None)
                if i:
                    click.echo()
                click.echo(render(obj, events_for(store, obj), datetime.now(UTC)))
    except store_errors.StoreError as err:
        raise errors.from_store(err) from None


def events_for(store: interface.Store, obj: resource.Resource) -> list[event.Event]:
    """The object's events, newest last; cluster-scoped objects keep theirs in `default`."""
    ns = obj.metadata.namespace or "default"
    found = [
        e
        for e in store.list(event.Event.kind_name, ns, selector.Selector()).items
        if isinstance(e, event.Event)
        and e.spec.involved_object.kind == obj.kind
        and e.spec.involved_object.name == obj.metadata.name
        and (e.spec.involved_object.namespace or None) == obj.metadata.namespace
    ]
    found.sort(key=lambda e: e.spec.last_timestamp or datetime.min.replace(tzinfo=UTC))
    return found[-RECENT_EVENTS:]


def _block(title: str, data: Any) -> list[str]:
    if data in ({}, [], None):
        return [f"{title}:  <none>"]
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip()
    return [f"{title}:", *(f"  {line}" for line in text.splitlines())]


def _waiting(obj: resource.Resource) -> list[str]:
    """For a job admission left waiting: its reason on a line of its own, and where to ask
    what would let it start."""
    cond = obj.status.condition("Admitted")
    if not isinstance(obj, gang.GangSchedulingGroup) or cond is None or cond.status != "False":
        return []
    return [
        f"Waiting:           {cond.reason}: {cond.message}",
        f"                   (`k8s4ai explain {obj.metadata.name} -n "
        f"{obj.metadata.namespace or 'default'}` says what would let it start)",
    ]


def render(obj: resource.Resource, events: list[event.Event], now: datetime) -> str:
    meta, wire = obj.metadata, obj.wire()
    status = dict(wire.get("status", {}))
    conditions = status.pop("conditions", [])
    lines = [
        f"Name:              {meta.name}",
        *([f"Namespace:         {meta.namespace}"] if meta.namespace else []),
        f"Kind:              {obj.kind}",
        "Labels:            " + (", ".join(f"{k}={v}" for k, v in meta.labels.items()) or "<none>"),
        "Annotations:       "
        + (", ".join(f"{k}={v}" for k, v in meta.annotations.items()) or "<none>"),
        f"UID:               {meta.uid}",
        f"Resource version:  {meta.resource_version}",
        f"Generation:        {meta.generation}",
        f"Created:           {meta.creation_timestamp} "
        f"({printers.age(meta.creation_timestamp, now)} ago)",
        *_block("Spec", wire.get("spec")),
        *_block("Status", status),
    ]
    if conditions:
        rows = [["TYPE", "STATUS", "REASON", "MESSAGE"]]
        rows += [
            [c["type"], c["status"], c.get("reason", ""), c.get("message", "")] for c in conditions
        ]
        lines += ["Conditions:", *("  " + r for r in printers.table(rows).splitlines())]
    else:
        lines.append("Conditions:        <none>")
    lines += _waiting(obj)
    if events:
        rows = [["TYPE", "REASON", "AGE", "COUNT", "MESSAGE"]]
        rows += [
            [
                e.spec.type,
                e.spec.reason,
                printers.age(e.spec.last_timestamp, now),
                str(e.spec.count),
                e.spec.message,
            ]
            for e in events
        ]
        lines += ["Events:", *("  " + r for r in printers.table(rows).splitlines())]
    else:
        lines.append("Events:            <none>")
    return "\n".join(lines)
