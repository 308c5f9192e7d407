"""`k8s4ai up --kubeconfig PATH` / `--in-cluster`: schedule a real cluster's pods instead of
running the embedded plane. Kept apart from `up` so the default path never imports the
Kubernetes client, which is an optional extra."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from k8s4ai.api import units
from k8s4ai.cli import errors, server
from k8s4ai.server import cost_app
from k8s4ai.server import run as server_run

if TYPE_CHECKING:
    from k8s4ai.backends.kubernetes import costs

Decorated = TypeVar("Decorated", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class ClusterArgs:
    kubeconfig: Path | None
    in_cluster: bool
    lease: str
    lease_duration: str
    renew_deadline: str
    retry_period: str
    identity: str | None
    ledger_dir: Path | None = None
    prometheus: str | None = None
    host: str = server_run.DEFAULT_HOST
    """Where the cost HTTP listens (`up`'s --host/--port/--token-file/--no-auth)."""
    port: int = cost_app.DEFAULT_PORT
    token_file: Path | None = None
    no_auth: bool = False

    @property
    def wanted(self) -> bool:
        return self.kubeconfig is not None or self.in_cluster


def options(command: Decorated) -> Decorated:
    """The flags `deploy/deployment.yaml` passes, collected into `cluster` (ClusterArgs)."""
    flags = [
        click.option(
            "--kubeconfig",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Schedule the pods of the cluster this kubeconfig points at (its current "
            "context) instead of running the embedded plane.",
        ),
        click.option(
            "--in-cluster", is_flag=True, help="The same, from the pod's service account."
        ),
        click.option(
            "--leader-elect-lease",
            "lease",
            default="k8s4ai-system/k8s4ai-controller",
            show_default=True,
            help="NAMESPACE/NAME of the Lease replicas elect a leader on.",
        ),
        click.option("--lease-duration", default="15s", show_default=True),
        click.option("--renew-deadline", default="10s", show_default=True),
        click.option("--retry-period", default="2s", show_default=True),
        click.option(
            "--identity",
            envvar="POD_NAME",
            help="The Lease holder's name [env POD_NAME; default: the host name].",
        ),
        click.option(
            "--ledger-dir",
            envvar="K8S4AI_LEDGER_DIR",
            type=click.Path(file_okay=False, path_type=Path),
            help="Where this replica keeps its cost journal [env K8S4AI_LEDGER_DIR; default: "
            "cluster-ledger in K8S4AI_HOME].",
        ),
        click.option(
            "--prometheus",
            metavar="URL",
            help="The Prometheus that scrapes dcgm-exporter: GPU utilisation for cost reports "
            "[default: none, GPUs are charged as held].",
        ),
    ]
    for flag in reversed(flags):
        command = flag(command)
    return command


def _seconds(flag: str, text: str) -> float:
    try:
        return units.Duration(text).seconds
    except ValueError as err:
        raise errors.CommandError(f"{flag}: {err}") from None


def serving(args: ClusterArgs) -> Callable[[costs.CostLoop], server_run.RunningServer]:
    """What serves a replica's cost loop (`server.cost_app`) on --host/--port, with the
    tokens checked now, before the cluster is contacted."""
    server.check_host(args.host)
    tokens = server.tokens_for(args.token_file, args.no_auth)

    def serve(ledger: costs.CostLoop) -> server_run.RunningServer:
        try:
            running = cost_app.start(
                ledger.view, ready=lambda: ledger.last_view is not None, tokens=tokens,
                host=args.host, port=args.port,
            )
        except OSError as err:
            raise errors.CommandError(
                f"cannot listen on {args.host}:{args.port}: {err.strerror}"
            ) from None
        click.echo(f"cost API on {running.url}/api/v1/allocation, metrics on {running.url}"
                   "/metrics")
        return running

    return serve


def run(args: ClusterArgs, policy: str) -> None:
    if args.kubeconfig is not None and args.in_cluster:
        raise errors.CommandError("give --kubeconfig or --in-cluster, not both")
    namespace, _, name = args.lease.partition("/")
    if not namespace or not name:
        raise errors.CommandError(f"--leader-elect-lease: {args.lease!r} is not NAMESPACE/NAME")
    try:
        from k8s4ai.backends.kubernetes import leader, operator
    except ImportError:
        message = "the Kubernetes client is not installed: pip install 'k8s4ai[kubernetes]'"
        raise errors.CommandError(message) from None
    try:
        lease = leader.LeaseConfig(
            namespace,
            name,
            _seconds("--lease-duration", args.lease_duration),
            _seconds("--renew-deadline", args.renew_deadline),
            _seconds("--retry-period", args.retry_period),
        )
    except ValueError as err:
        raise errors.CommandError(str(err)) from None
    serve = serving(args)
    settings = operator.Settings(
        lease,
        args.identity or operator.default_identity(),
        policy,
        ledger_dir=args.ledger_dir,
        prometheus=args.prometheus,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        config = str(args.kubeconfig) if args.kubeconfig is not None else None
        try:
            api = await operator.connect(config, args.in_cluster)
        except Exception as err:  # kr8s raises plain ValueError and OS errors alike here
            raise errors.CommandError(f"cannot connect to the cluster: {err}") from None
        click.echo(
            f"k8s4ai is scheduling pods with schedulerName k8s4ai on {operator.server_of(api)}\n"
            f"  as {settings.identity}, acting while it holds the Lease {namespace}/{name}\n"
            "Press Ctrl-C to stop."
        )
        await operator.run(api, settings, stop, serve)
        click.echo("stopped")

    asyncio.run(main())
