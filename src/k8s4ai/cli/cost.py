"""`k8s4ai cost`: what each team, experiment or model cost over a window, from a ledger file;
with `--model`, one model's total cost of ownership (training, storage, serving) instead.

The TCO is a flag rather than a `cost tco` subcommand so that `k8s4ai cost --ledger …`, as
users run it, keeps working: a click group cannot also take the command's own options."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click

from k8s4ai.cli import errors, printers
from k8s4ai.finops import allocation, ledger, money, opencost, pricing, records, tco
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
@click.option("--model", default=None, metavar="NAME",
              help="Show this model's total cost of ownership instead of a per-label report.")
@click.option("--tokens", type=click.IntRange(min=0), default=None, metavar="N",
              help="Tokens the --model served in the window: adds cost per million tokens.")
@click.pass_context
def command(
    ctx: click.Context,
    ledger_path: Path,
    price_paths: tuple[Path, ...],
    gpu_classes: tuple[str, ...],
    storage_classes: tuple[str, ...],
    window: str,
    end: str | None,
    aggregate: str,
    share_idle: bool,
    model: str | None,
    tokens: int | None,
) -> None:
    """Cost per label over a window; idle as its own line or shared; lines add up to the bill.

    With --model NAME: the model's training (per experiment and job), storage (per volume) and
    serving (per InferenceService), and with --tokens its cost per million tokens."""
    _check_flags(ctx, model, tokens, share_idle)
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
        if model is not None:
            click.echo(_ownership(book, prices, span, model, tokens))
            return
        names = [n.strip() for n in aggregate.split(",") if n.strip()]
        report = allocation.allocate(book, prices, span, names, share_idle)
    except (finops_errors.FileError, ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)
        raise errors.CommandError(message) from None
    click.echo(printers.table(rows(report)))


def _check_flags(
    ctx: click.Context, model: str | None, tokens: int | None, share_idle: bool
) -> None:
    if model is None:
        if tokens is not None:
            raise errors.CommandError("--tokens counts what a --model served: name the model")
        return
    given = ctx.get_parameter_source("aggregate") is not click.core.ParameterSource.DEFAULT
    if given or share_idle:
        raise errors.CommandError(
            "--model reports one model's cost of ownership: --aggregate and --share-idle "
            "apply to the per-label report"
        )


def _ownership(
    book: ledger.Ledger,
    prices: pricing.PriceBook,
    span: allocation.Window,
    model: str,
    tokens: int | None,
) -> str:
    known = tco.models(book)
    if model not in known:
        raise ValueError(
            f"no ledger row names model {model!r} (models: {', '.join(known) or 'none'})"
        )
    report = tco.tco(book, prices, span, model, tokens)
    return "\n".join([
        f"Model {model}, {_time(span.start)} to {_time(span.end)}",
        "",
        printers.table(tco_rows(report)),
        "",
        per_million(report),
    ])


def tco_rows(report: tco.Report) -> list[list[str]]:
    header = ["PART", "NAME", "DETAIL", "USAGE", "UNIT"]
    header += [k.value.upper() for k in allocation.KINDS] + ["TOTAL"]
    body = []
    for part in tco.Part:
        unit = tco.USAGE[part]
        for line in report.part(part):
            detail = line.key[1] if len(line.key) > 1 else ""
            body.append([part.value, line.key[0], detail, f"{line.usage:,.1f}", unit,
                         *_money(line.cents)])
        body.append([f"{part.value} total", "", "", f"{report.usage(part):,.1f}", unit,
                     *_money(report.by_kind(part))])
    return [header, *body, ["TOTAL", "", "", "", "", *_money(report.by_kind())]]


def per_million(report: tco.Report) -> str:
    serving, total = report.serving_per_million, report.total_per_million
    if serving is None or total is None:
        why = ("the ledger has no serving of this model in the window" if report.tokens
               else "give --tokens to see it")
        return f"Cost per million tokens: {why}."
    return (
        f"{report.tokens:,} tokens served: ${serving:,.4f} per million tokens for serving, "
        f"${total:,.4f} for the whole cost of ownership."
    )


def _money(cents: tuple[int, ...]) -> list[str]:
    return [*(money.format_cents(c) for c in cents), money.format_cents(sum(cents))]


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


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
