"""`k8s4ai cost`: what each team, experiment or model cost over a window, from a ledger file;
with `--model`, one model's total cost of ownership (training, storage, serving) instead.

Two bases, as OpenCost's: `allocation` charges what was held; `usage` charges a GPU
allocation only for the share of it its DCGM engine activity says was used, the rest going to
idle. Utilisation comes from a samples file (`--samples`) or from the Prometheus that scrapes
dcgm-exporter (`--prometheus`, matched on the `namespace` and `pod` labels the cluster's
journal carries); without either, GPUs are charged as held on both bases.

The TCO is a flag rather than a `cost tco` subcommand so that `k8s4ai cost --ledger …`, as
users run it, keeps working: a click group cannot also take the command's own options."""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx
import numpy as np

from k8s4ai.api import units
from k8s4ai.backends.kubernetes import dcgm
from k8s4ai.cli import errors, printers
from k8s4ai.controllers import cost_journal, cost_ledger
from k8s4ai.finops import (
    allocation,
    ledger,
    money,
    opencost,
    pricing,
    records,
    tco,
    utilisation,
)
from k8s4ai.finops import errors as finops_errors

SAMPLE_FIELDS = ("time", "engine_active", "memory_used")


@click.command("cost")
@click.option(
    "--ledger", "ledger_path", required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Allocation and asset intervals (.csv, .json or .jsonl), or the folder of a live "
         "ledger (the journal `k8s4ai up` keeps beside its store, or the operator's "
         "--ledger-dir): what it closed, and what was open when it last wrote.",
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
@click.option("--basis", type=click.Choice([b.value for b in allocation.Basis]),
              default=allocation.Basis.ALLOCATION.value, show_default=True,
              help="allocation: what was held; usage: GPUs charged for the share they used.")
@click.option("--samples", "samples_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="GPU utilisation for --basis usage: a CSV of time, engine_active (0-1), "
                   "memory_used (GiB) and the labels of the allocations it measures.")
@click.option("--prometheus", default=None, metavar="URL",
              help="Read GPU utilisation for --basis usage from this Prometheus "
                   "(dcgm-exporter's series, by namespace and pod).")
@click.option("--step", default="1m", show_default=True,
              help="The --prometheus query step.")
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
    basis: str,
    samples_path: Path | None,
    prometheus: str | None,
    step: str,
) -> None:
    """Cost per label over a window; idle as its own line or shared; lines add up to the bill.

    With --model NAME: the model's training (per experiment and job), storage (per volume) and
    serving (per InferenceService), and with --tokens its cost per million tokens."""
    _check_flags(ctx, model, tokens, share_idle)
    measured = samples_path is not None or prometheus is not None
    if measured and basis != allocation.Basis.USAGE:
        raise errors.CommandError("--samples and --prometheus measure use: give --basis usage")
    if samples_path is not None and prometheus is not None:
        raise errors.CommandError("give --samples or --prometheus, not both")
    if model is not None and basis != allocation.Basis.ALLOCATION:
        raise errors.CommandError("--model reports cost of ownership on the allocation basis")
    try:
        now = records.parse_time(end) if end else time.time()
        span = records.parse_window(window, now)
        book = journal(ledger_path) if ledger_path.is_dir() else records.load(ledger_path)
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
        used = None
        if samples_path is not None:
            used = load_samples(samples_path, book)
        elif prometheus is not None:
            used = _prometheus(prometheus, book, span, step)
        elif basis == allocation.Basis.USAGE:
            click.echo("note: no --samples or --prometheus: GPUs are charged as held", err=True)
        report = allocation.allocate(
            book, prices, span, names, share_idle, allocation.Basis(basis), used
        )
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


def _prometheus(
    url: str, book: ledger.Ledger, span: allocation.Window, step: str
) -> utilisation.Samples:
    seconds = units.Duration(step).seconds
    try:
        with httpx.Client(base_url=url, timeout=30.0) as client:
            return dcgm.samples(client, book, span, seconds)
    except dcgm.PrometheusError as err:
        raise ValueError(str(err)) from None


def load_samples(path: Path, book: ledger.Ledger) -> utilisation.Samples:
    """A samples CSV onto the ledger's GPU allocation rows: each sample measures the rows
    whose labels include all of its own (its other columns) and whose interval holds its
    time. A row measured twice at one time (two samples naming it) keeps both."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise finops_errors.FileError(path, "file", f"cannot read it: {err}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [f for f in SAMPLE_FIELDS[:2] if f not in (reader.fieldnames or ())]
    if missing:
        raise finops_errors.FileError(path, "line 1", f"missing column(s) {', '.join(missing)}")
    rows = book.allocations
    gpu = {i for i, r in enumerate(rows.rates) if r.kind is pricing.ResourceKind.GPU}
    gpu_rows = [row for row in range(len(rows)) if int(rows.rate[row]) in gpu]
    labels = {row: rows.labels_of(row) for row in gpu_rows}
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, float, float]]] = {}
    for record in reader:
        where = f"line {reader.line_num}"
        try:
            point = (
                records.parse_time(record["time"]),
                float(record["engine_active"]),
                float(record.get("memory_used") or 0.0),
            )
            if not (0 <= point[1] <= 1 and point[2] >= 0):
                raise ValueError("engine_active is a share (0..1), memory_used GiB (>= 0)")
        except ValueError as err:
            raise finops_errors.FileError(path, where, str(err)) from None
        key = tuple(sorted((k, v) for k, v in record.items() if k not in SAMPLE_FIELDS and v))
        groups.setdefault(key, []).append(point)
    builder = utilisation.SamplesBuilder()
    for key, points in groups.items():
        table = np.array(sorted(points)).reshape(-1, 3)
        for row in gpu_rows:
            if not all(labels[row].get(k) == v for k, v in key):
                continue
            start, end = float(rows.start[row]), float(rows.end[row])
            first, last = np.searchsorted(table[:, 0], [start, end], side="left")
            for t, active, memory in table[first:last]:
                builder.add(row, t, active, memory)
    return builder.build()


def journal(folder: Path, name: str = "k8s4ai") -> ledger.Ledger:
    """A live ledger's journal: its closed segments, and its open ones up to when the process
    keeping it last wrote them (what was held after that is not known here)."""
    files = cost_journal.Journal(folder, name)
    if not files.closed_path.exists() and not files.open_path.exists():
        raise finops_errors.FileError(folder, "folder", f"no {files.closed_path.name} in it")
    closed, state = files.read_closed(), files.read_open()
    seen = max([state.seen, *(r.end for r in closed if r.end is not None)])
    return cost_ledger.intervals(cost_ledger.merge(closed, state.segments, seen))
