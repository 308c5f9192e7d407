"""`k8s4ai cost`: what each team, experiment or model cost over a window, from a ledger file."""

from __future__ import annotations

import time
from pathlib import Path

import click

from k8s4ai.cli import errors, printers
from k8s4ai.finops import allocation, money, opencost, pricing, records
from k8s4ai.finops import errors as finops_errors


@click.command("cost")
@click.option(
    "--ledger", "ledger_path", required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Allocation and asset intervals (.csv or .json).",
)
@click.option(
    "--prices", "price_paths", required=True, multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="OpenCost custom pricing file (.json or .csv); repeat to combine, later ones win.",
)
@click.option("--gpu-class", "gpu_classes", multiple=True, metavar="NAME",
              help="GPU class a JSON pricing file's GPU price applies to (repeatable).")
@click.option("--storage-class", "storage_classes", multiple=True, metavar="NAME",
              help="Storage class a JSON pricing file's storage price applies to (repeatable).")
@click.option("--window", default="7d", show_default=True,
              help="7d, 24h, 1h30m (ending --end) or START,END in RFC 3339.")
@click.option("--end", "end", default=None, metavar="TIME",
              help="Where a duration window ends (RFC 3339) [default: now].")
@click.option("--aggregate", default="namespace", show_default=True,
              help="Comma-separated labels, e.g. team,experiment.")
@click.option("--share-idle", is_flag=True,
              help="Share each resource's idle cost in proportion to its use.")
def command(
    ledger_path: Path,
    price_paths: tuple[Path, ...],
    gpu_classes: tuple[str, ...],
    storage_classes: tuple[str, ...],
    window: str,
    end: str | None,
    aggregate: str,
    share_idle: bool,
) -> None:
    """Cost per label over a window; idle as its own line or shared; lines add up to the bill."""
    try:
        now = records.parse_time(end) if end else time.time()
        span = records.parse_window(window, now)
        book = records.load(ledger_path)
        prices = pricing.PriceBook()
        for path in price_paths:
            imported = opencost.load(path, gpu_classes, storage_classes)
            for skipped in imported.skipped:
                click.echo(f"note: {path}: {skipped}", err=True)
            prices = prices.merged(imported.prices)
        names = [n.strip() for n in aggregate.split(",") if n.strip()]
        report = allocation.allocate(book, prices, span, names, share_idle)
    except (finops_errors.FileError, ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)
        raise errors.CommandError(message) from None
    click.echo(printers.table(rows(report)))


def rows(report: allocation.Report) -> list[list[str]]:
    header = [n.upper() for n in report.aggregate]
    header += [k.value.upper() for k in allocation.KINDS] + ["TOTAL"]
    body = [
        [*line.key, *(money.format_cents(c) for c in line.cents), money.format_cents(line.total)]
        for line in report.lines
    ]
    footer = ["TOTAL", *[""] * (len(report.aggregate) - 1)]
    footer += [money.format_cents(c) for c in report.bill] + [money.format_cents(report.total)]
    return [header, *body, footer]
