"""`k8s4ai remediation`: see what the rules find in the store, approve or reject their plans,
undo an applied action, and read the audit trail kept beside the store file."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click

from k8s4ai.cli import context
from k8s4ai.controllers import remediation as store_remediation
from k8s4ai.remediation import audit, engine, explain, summarise
from k8s4ai.store import interface


def _now() -> datetime:
    return datetime.now(UTC)


def _log(target: context.Target) -> audit.AuditLog:
    return audit.AuditLog(store_remediation.audit_path(target.db))


def _engine(store: interface.Store, log: audit.AuditLog) -> engine.Engine:
    return store_remediation.session(store, _now, log)


def _actor() -> str:
    return f"user:{getpass.getuser()}"


@click.group("remediation", help=__doc__)
def command() -> None:
    pass


@command.command("list", help="Findings and the plans waiting for approval.")
@click.option(
    "--summarise",
    "endpoint",
    metavar="URL",
    default=None,
    help="OpenAI-compatible endpoint that adds a short summary (optional).",
)
@click.option("--model", default="default", help="Model name for --summarise.")
@click.pass_obj
def list_(target: context.Target, endpoint: str | None, model: str) -> None:
    with context.connect(target) as store:
        loop = _engine(store, _log(target))
        if not loop.findings:
            click.echo("No findings: nothing to remediate.")
            return
        lines = [explain.finding_line(found) for found in loop.findings.values()]
        for line in lines:
            click.echo(line)
        if endpoint:
            summary = summarise.summarise(lines, endpoint, model)
            click.echo(f"\nSummary: {summary}" if summary else "\n(no summary: endpoint failed)")
        pending = loop.pending()
        if pending:
            click.echo("")
            click.echo("Plans waiting for approval (k8s4ai remediation approve ID):")
            for proposal in pending:
                for line in explain.proposal_lines(proposal):
                    click.echo(line)


def _decide(target: context.Target, proposal_id: str, approve: bool) -> None:
    with context.connect(target) as store:
        loop = _engine(store, _log(target))
        if proposal_id not in loop.proposals:
            raise click.ClickException(
                f"no pending plan {proposal_id}; `k8s4ai remediation list` shows them"
            )
        verb = loop.approve if approve else loop.reject
        outcome = verb(proposal_id, _actor())
        if not outcome.ok:
            raise click.ClickException(outcome.message)
        click.echo(outcome.message)


@command.command(help="Apply a plan (after the guardrails and a dry-run check).")
@click.argument("proposal_id")
@click.pass_obj
def approve(target: context.Target, proposal_id: str) -> None:
    _decide(target, proposal_id, approve=True)


@command.command(help="Reject a plan; it is not proposed again while the fault lasts.")
@click.argument("proposal_id")
@click.pass_obj
def reject(target: context.Target, proposal_id: str) -> None:
    _decide(target, proposal_id, approve=False)


@command.command(help="Write back every field an applied action changed.")
@click.argument("action_id")
@click.pass_obj
def undo(target: context.Target, action_id: str) -> None:
    with context.connect(target) as store:
        world = store_remediation.StoreWorld(store, _now)
        try:
            click.echo(store_remediation.undo(world, _log(target), action_id, _actor()))
        except ValueError as err:
            raise click.ClickException(str(err)) from err


@command.command("audit", help="The audit trail, oldest first.")
@click.option("--tail", "-n", type=int, default=None, help="Only the last N records.")
@click.pass_obj
def audit_(target: context.Target, tail: int | None) -> None:
    records = _log(target).records()
    for record in records[-tail:] if tail else records:
        click.echo(explain.record_line(record))
