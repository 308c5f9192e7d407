"""`k8s4ai get`: list or show objects as a table, YAML or JSON, and watch them change."""

from __future__ import annotations

import json

import click

from k8s4ai.api import registry, resource, selector
from k8s4ai.cli import context, errors, printers
from k8s4ai.store import errors as store_errors
from k8s4ai.store import interface

WATCH_BATCH = 1000
"""The store's default `events` limit: a shorter answer means we are caught up to `latest`."""

SYSTEM_KINDS = ("Event",)
"""Left out of `get all`, as kubectl leaves out events."""


@click.command("get")
@click.argument("kind")
@click.argument("names", nargs=-1)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-A", "--all-namespaces", is_flag=True, help="List across all namespaces.")
@click.option(
    "-o", "--output", type=click.Choice(printers.OUTPUTS), default="table", show_default=True
)
@click.option("-l", "--selector", "label_selector", help="Label selector, e.g. team=a,tier!=x")
@click.option("-w", "--watch", is_flag=True, help="After listing, print changes as they happen.")
@click.pass_obj
def command(
    target: context.Target,
    kind: str,
    names: tuple[str, ...],
    namespace: str,
    all_namespaces: bool,
    output: str,
    label_selector: str | None,
    watch: bool,
) -> None:
    """Show objects of KIND (any of its names: `gangs`, `gang`, `GangSchedulingGroup`), or
    `all` kinds.

    \b
    Examples:
      k8s4ai get nodes -o wide
      k8s4ai get gangs -A -l team=team-a
      k8s4ai get queue team-a -o yaml
      k8s4ai get all -A
    """
    try:
        parsed = selector.parse(label_selector)
    except ValueError as err:
        raise errors.CommandError(f"--selector: {err}") from None
    kinds = (
        [k for k in registry.KINDS if k.kind_name not in SYSTEM_KINDS]
        if kind == "all"
        else [errors.kind_or_fail(kind)]
    )
    if watch and len(kinds) != 1:
        raise errors.CommandError("--watch takes one kind")
    ns = None if all_namespaces else namespace
    try:
        with context.connect(target) as store:
            shown, widths = 0, []
            for k in kinds:
                objs, rv = _fetch(store, k, names, ns, parsed)
                shown += len(objs)
                if objs or (kind != "all" and not watch):
                    widths = _print(k, objs, output, all_namespaces, single=len(names) == 1)
                    if kind == "all":
                        click.echo()
            if watch:
                _watch(store, kinds[0], ns, parsed, output, all_namespaces, rv, widths)
    except store_errors.StoreError as err:
        raise errors.from_store(err) from None
    if kind == "all" and not shown:
        where = "any namespace" if all_namespaces else f"namespace {namespace}"
        click.echo(f"No resources found in {where}.", err=True)


def _fetch(
    store: interface.Store,
    kind: type[resource.Resource],
    names: tuple[str, ...],
    namespace: str | None,
    label_selector: selector.Selector,
) -> tuple[list[resource.Resource], int]:
    if names:
        objs = [store.get(kind.kind_name, name, namespace) for name in names]
        return objs, store.resource_version()
    result = store.list(kind.kind_name, namespace if kind.namespaced else None, label_selector)
    return result.items, result.resource_version


def _print(
    kind: type[resource.Resource],
    objs: list[resource.Resource],
    output: str,
    all_namespaces: bool,
    single: bool,
) -> list[int]:
    """Prints the objects; returns the table's column widths, for a watch to keep."""
    if output == "yaml":
        click.echo(printers.as_yaml(objs, single), nl=False)
    elif output == "json":
        click.echo(printers.as_json(objs, single))
    elif output == "name":
        if objs:
            click.echo(printers.names(objs))
    elif not objs:
        click.echo(f"No {kind.plural} found.", err=True)
    else:
        wide = output == "wide"
        rows = [printers.header(kind, wide, all_namespaces)]
        rows += [printers.row(o, wide, all_namespaces) for o in objs]
        click.echo(printers.table(rows))
        return printers.column_widths(rows)
    return []


def _watch(
    store: interface.Store,
    kind: type[resource.Resource],
    namespace: str | None,
    label_selector: selector.Selector,
    output: str,
    all_namespaces: bool,
    since: int,
    widths: list[int],
) -> None:
    """Print each change after `since` until interrupted; a table row per event, or a
    document per event for yaml/json."""
    wide = output == "wide"
    ns = namespace if kind.namespaced else None
    try:
        while True:
            latest = store.resource_version()
            batch = store.events(since, kind.kind_name, ns, label_selector)
            for event in batch:
                since = event.resource_version
                obj = event.object
                if output == "yaml":
                    click.echo(f"--- # {event.type}\n{printers.as_yaml([obj], True)}", nl=False)
                elif output == "json":
                    click.echo(json.dumps({"type": event.type, "object": obj.wire()}))
                elif output == "name":
                    click.echo(f"{printers.names([obj])} {event.type.lower()}")
                else:
                    cells = printers.row(obj, wide, all_namespaces)
                    click.echo(printers.table([[*cells, event.type]], widths))
            if len(batch) < WATCH_BATCH:
                since = max(since, latest)
                store.wait(since, timeout=1.0)
    except KeyboardInterrupt:
        return
