"""`k8s4ai crds`: the CustomResourceDefinitions for a real cluster, from the same models."""

from __future__ import annotations

import click

from k8s4ai.api import crd


@click.command("crds")
def command() -> None:
    """Print a CustomResourceDefinition for every k8s4ai kind, as one YAML stream.

    \b
    Install them on a cluster:
      k8s4ai crds | kubectl apply -f -
    """
    click.echo(crd.crds_yaml(), nl=False)
