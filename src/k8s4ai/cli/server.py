"""`k8s4ai server`: the HTTP API over the embedded store."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import cast

import click

from k8s4ai.cli import context, errors
from k8s4ai.controllers import remediation
from k8s4ai.server import auth, run
from k8s4ai.store import schema, sqlite


def tokens_for(token_file: Path | None, no_auth: bool) -> dict[str, auth.Role] | None:
    """The tokens to accept: from --token-file, or from ~/.k8s4ai/tokens.csv, which is
    generated (read and write token, mode 0600) the first time."""
    if no_auth:
        return None
    path = token_file or context.home() / "tokens.csv"
    if token_file is None and not path.exists():
        auth.generate_token_file(path)
    try:
        return auth.load_token_file(path)
    except (OSError, ValueError) as err:
        raise errors.CommandError(f"--token-file: {err}") from None


def is_loopback(host: str | None) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_host(host: str) -> None:
    if not is_loopback(host):
        click.echo(
            f"warning: binding {host}: the API is reachable from other machines; "
            "keep authentication on",
            err=True,
        )


HOST_OPTION = click.option(
    "--host", default=run.DEFAULT_HOST, show_default=True, help="Address to bind."
)
PORT_OPTION = click.option(
    "--port",
    default=run.DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind; 0 picks a free one.",
)
TOKEN_FILE_OPTION = click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV of token,role[,user] (role: read or write) [default ~/.k8s4ai/tokens.csv, "
    "generated on first use].",
)
NO_AUTH_OPTION = click.option(
    "--no-auth", is_flag=True, help="Accept requests without a token (local experiments only)."
)


@click.command("server")
@HOST_OPTION
@PORT_OPTION
@TOKEN_FILE_OPTION
@NO_AUTH_OPTION
@click.option(
    "--synchronous",
    type=click.Choice(["FULL", "NORMAL", "EXTRA"]),
    default="FULL",
    show_default=True,
    help="Store durability: FULL survives power loss, NORMAL only process crashes.",
)
@click.pass_obj
def command(
    target: context.Target,
    host: str,
    port: int,
    token_file: Path | None,
    no_auth: bool,
    synchronous: str,
) -> None:
    """Serve the Kubernetes-style API (`/apis/k8s4ai.io/v1alpha1/...`) over the embedded store.

    Clients authenticate with `Authorization: Bearer TOKEN`; a read token may only read.
    /healthz, /readyz, /metrics and /openapi/v3 need no token.

    \b
    Example:
      k8s4ai server --port 7420
      k8s4ai --server http://127.0.0.1:7420 --token TOKEN get nodes
    """
    check_host(host)
    tokens = tokens_for(token_file, no_auth)
    store = sqlite.SqliteStore(target.db, synchronous=cast(schema.Synchronous, synchronous))
    try:
        run.serve(
            store,
            host,
            port,
            tokens=tokens,
            log_level="info",
            remediation_audit=remediation.audit_path(target.db),
            on_ready=lambda url: click.echo(
                f"k8s4ai API listening on {url} (store {target.db}); dashboard {url}/ui/",
                color=False,
            ),
        )
    except OSError as err:
        raise errors.CommandError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    finally:
        store.close()
