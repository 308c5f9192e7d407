"""Turning failures into one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import click

from k8s4ai.api import registry, resource
from k8s4ai.store import errors


class CommandError(click.ClickException):
    """Printed as `error: message` (one line per problem) with exit code 1."""

    def format_message(self) -> str:
        return "\n".join(f"error: {line}" for line in self.message.splitlines())

    def show(self, file: object = None) -> None:
        click.echo(self.format_message(), err=True)


def from_store(err: errors.StoreError) -> CommandError:
    lines = [err.message, *(f"  {cause}" for cause in err.causes)]
    return CommandError("\n".join(lines))


def kind_or_fail(name: str) -> type[resource.Resource]:
    try:
        return registry.lookup(name)
    except registry.UnknownKindError as err:
        raise CommandError(str(err)) from None
