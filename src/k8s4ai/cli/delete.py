"""`k8s4ai delete`: remove objects by kind and name, or everything a manifest names."""

from __future__ import annotations

import sys

import click

from k8s4ai.api import manifest, resource
from k8s4ai.cli import context, errors, sources
from k8s4ai.store import errors as store_errors


@click.command("delete")
@click.argument("kind", required=False)
@click.argument("names", nargs=-1)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    metavar="PATH",
    help="Delete the objects these manifests name.",
)
@click.option("--ignore-not-found", is_flag=True, help="Do not fail on objects already gone.")
@click.pass_obj
def command(
    target: context.Target,
    kind: str | None,
    names: tuple[str, ...],
    namespace: str,
    paths: tuple[str, ...],
    ignore_not_found: bool,
) -> None:
    """Delete objects: `delete KIND NAME...` or `delete -f PATH`.

    \b
    Examples:
      k8s4ai delete gang notebook-eval -n team-b
      k8s4ai delete -f examples/07-training.yaml
    """
    targets = _targets(kind, names, namespace, paths)
    failed = False
    try:
        with context.connect(target) as store:
            for cls, name, ns in targets:
                try:
                    store.delete(cls.kind_name, name, ns)
                    click.echo(f"{cls.singular()}/{name} deleted")
                except store_errors.NotFound as err:
                    if not ignore_not_found:
                        click.echo(f"error: {err.message}", err=True)
                        failed = True
    except store_errors.StoreError as err:
        raise errors.from_store(err) from None
    if failed:
        raise click.exceptions.Exit(1)


def _targets(
    kind: str | None, names: tuple[str, ...], namespace: str, paths: tuple[str, ...]
) -> list[tuple[type[resource.Resource], str, str | None]]:
    if paths:
        if kind or names:
            raise errors.CommandError("give either -f PATH or KIND NAME..., not both")
        try:
            docs = sources.read(paths, sys.stdin)
        except sources.SourceError as err:
            raise errors.CommandError(str(err)) from None
        out: list[tuple[type[resource.Resource], str, str | None]] = []
        problems: list[manifest.Problem] = []
        for source, text in docs:
            split, split_problems = manifest.split(source, text)
            problems += split_problems
            for doc in split:
                result = manifest.validate(doc, namespace)
                if isinstance(result, list):
                    problems += result
                else:
                    out.append((type(result), result.metadata.name, result.metadata.namespace))
        if problems:
            raise errors.CommandError("\n".join(str(p) for p in problems))
        return list(reversed(out))
    if not kind or not names:
        raise errors.CommandError("name what to delete: KIND NAME... or -f PATH")
    cls = errors.kind_or_fail(kind)
    return [(cls, name, namespace if cls.namespaced else None) for name in names]
