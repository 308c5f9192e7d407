"""The `k8s4ai` command: kubectl-like verbs over k8s4ai resources, plus `up` and `server`."""

from __future__ import annotations

from pathlib import Path

import click

from k8s4ai import __version__
from k8s4ai.cli import (
    apply,
    context,
    cost,
    crds,
    delete,
    describe,
    explain,
    get,
    remediate,
    router,
    server,
    sim,
    up,
)

HELP = """k8s4ai: an orchestration plane for AI workloads on Kubernetes.

\b
Start here:
  k8s4ai up                         run the plane locally with an example GPU cluster
  k8s4ai get nodes                  list the cluster's GPU nodes
  k8s4ai get gangs -A               list training jobs in every namespace
  k8s4ai apply -f examples/         create or update objects from manifests
  k8s4ai describe gang NAME -n NS   show one object, its conditions and events
  k8s4ai explain NAME -n NS         why a job is pending and what would let it start
  k8s4ai router --endpoint URL ...  route LLM requests to the replica holding their prefix

Commands talk to the embedded store file (--db) unless --server names a running server.
"""


@click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--server",
    envvar="K8S4AI_SERVER",
    metavar="URL",
    help="API server to talk to, e.g. http://127.0.0.1:7420 [env K8S4AI_SERVER].",
)
@click.option(
    "--token",
    envvar="K8S4AI_TOKEN",
    metavar="TOKEN",
    help="Bearer token for --server [env K8S4AI_TOKEN].",
)
@click.option(
    "--db",
    envvar="K8S4AI_DB",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Embedded store file [env K8S4AI_DB; default ~/.k8s4ai/k8s4ai.db].",
)
@click.version_option(__version__, prog_name="k8s4ai")
@click.pass_context
def cli(ctx: click.Context, server: str | None, token: str | None, db: Path | None) -> None:
    ctx.obj = context.Target(server=server, token=token, db=db or context.default_db())


for command in (
    apply.command,
    get.command,
    describe.command,
    explain.command,
    delete.command,
    crds.command,
    server.command,
    up.command,
    sim.command,
    cost.command,
    router.command,
    remediate.command,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="k8s4ai")
