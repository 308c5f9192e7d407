"""`k8s4ai apply -f`: create or update everything in a batch of manifests, or nothing."""

from __future__ import annotations

import sys

import click

from k8s4ai.api import manifest
from k8s4ai.cli import context, errors, sources
from k8s4ai.store import errors as store_errors
from k8s4ai.store import lookup


@click.command("apply")
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    required=True,
    metavar="PATH",
    help="Manifest file, directory (read recursively) or - for stdin; repeatable.",
)
@click.option(
    "-n",
    "--namespace",
    default="default",
    show_default=True,
    help="Namespace for namespaced objects that do not name one.",
)
@click.pass_obj
def command(target: context.Target, paths: tuple[str, ...], namespace: str) -> None:
    """Create or update objects from YAML/JSON manifests, all or nothing.

    Every document is validated (types, required and unknown fields, references to other
    objects) before anything is written; if any is wrong, each problem is printed as
    `file: document N (line L): field.path: reason` and nothing is applied. Objects that
    match what is stored are left untouched, so applying the same files twice is a no-op.

    \b
    Examples:
      k8s4ai apply -f examples/
      k8s4ai get queue team-a -o yaml | k8s4ai apply -f -
    """
    try:
        texts = sources.read(paths, sys.stdin)
    except sources.SourceError as err:
        raise errors.CommandError(str(err)) from None
    try:
        with context.connect(target) as store:
            try:
                manifests = manifest.load(texts, lookup.lookup_in(store), namespace)
            except manifest.ManifestError as err:
                for problem in err.problems:
                    click.echo(f"error: {problem}", err=True)
                raise click.exceptions.Exit(1) from None
            if not manifests:
                raise errors.CommandError(f"no objects found in {', '.join(paths)}")
            results = store.apply([m.object for m in manifests])
    except store_errors.StoreError as err:
        raise errors.from_store(err) from None
    for result in results:
        obj = result.object
        click.echo(f"{obj.singular()}/{obj.metadata.name} {result.outcome}")
