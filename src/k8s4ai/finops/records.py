"""A ledger written as a file (CSV or JSON), and windows written as OpenCost writes them.

One record per interval: `record` (allocation or asset), `start` and `end` (RFC 3339 or
seconds since the epoch), `resource` (`gpu/h100`, `gpu/h100/spot`, `cpu`, `memory`,
`storage/ssd`: kind, class, market), `amount`, and labels: in CSV every other column (an empty
cell is no label), in JSON a `labels` object. It is what a backend's event stream reduces to,
so a ledger can be inspected, exchanged and costed without a running plane.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from k8s4ai.api import units
from k8s4ai.finops import allocation, errors, ledger, pricing

FIELDS = ("record", "start", "end", "resource", "amount")
_DAYS = re.compile(r"^([0-9]+(?:\.[0-9]+)?)d$")


def parse_rate(text: str) -> pricing.RateKey:
    parts = text.strip().split("/")
    try:
        kind = pricing.ResourceKind(parts[0])
    except ValueError:
        kinds = ", ".join(k.value for k in pricing.ResourceKind)
        raise ValueError(f"{text!r}: a resource starts with one of {kinds}") from None
    market = pricing.Market.ON_DEMAND
    if len(parts) > 1 and parts[-1] in {m.value for m in pricing.Market}:
        market = pricing.Market(parts.pop())
    if len(parts) > 2:
        raise ValueError(f"{text!r}: expected kind[/class][/market]")
    return pricing.RateKey(kind, parts[1] if len(parts) == 2 else "", market)


def parse_time(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use RFC 3339 or seconds since the epoch"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add Z or an offset")
    return moment.timestamp()


def parse_window(text: str, now: float) -> allocation.Window:
    """`7d`, `24h`, `1h30m` (ending now) or `START,END` (RFC 3339), as OpenCost's window."""
    if "," in text:
        start, end = text.split(",", 1)
        return allocation.Window(parse_time(start), parse_time(end))
    days = _DAYS.match(text.strip())
    seconds = float(days.group(1)) * 86_400 if days else units.Duration(text).seconds
    return allocation.Window.last(seconds, now)


def load(path: Path) -> ledger.Ledger:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise errors.FileError(path, "file", f"cannot read it: {err}") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        missing = [f for f in FIELDS if f not in (reader.fieldnames or ())]
        if missing:
            raise errors.FileError(path, "line 1", f"missing column(s) {', '.join(missing)}")
        return _build(
            path,
            (
                (f"line {reader.line_num}", row,
                 {k: v for k, v in row.items() if k not in FIELDS and k and v})
                for row in reader
            ),
        )
    if suffix == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            raise errors.FileError(path, f"line {err.lineno}", f"not JSON: {err.msg}") from None
        if not isinstance(document, list) or not all(isinstance(r, dict) for r in document):
            raise errors.FileError(path, "line 1", "expected a list of record objects")
        return _build(
            path, ((f"record {i}", r, r.get("labels") or {}) for i, r in enumerate(document))
        )
    if suffix == ".jsonl":
        return _build(path, _json_lines(path, text))
    raise errors.FileError(path, "file", "expected a .csv, .json or .jsonl ledger")


def _json_lines(
    path: Path, text: str
) -> Iterable[tuple[str, Mapping[str, object], Mapping[str, object]]]:
    """One record object per line, as the live plane's journal (`k8s4ai.ledger.jsonl`) is
    written; blank lines are skipped."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise errors.FileError(path, f"line {number}", f"not JSON: {err.msg}") from None
        if not isinstance(record, dict):
            raise errors.FileError(path, f"line {number}", "expected a record object")
        yield f"line {number}", record, record.get("labels") or {}


def _build(
    path: Path, records: Iterable[tuple[str, Mapping[str, object], Mapping[str, object]]]
) -> ledger.Ledger:
    tables = {"allocation": ledger.IntervalsBuilder(), "asset": ledger.IntervalsBuilder()}
    for where, record, labels in records:
        field = "record"
        try:
            table = tables.get(str(record.get("record")))
            if table is None:
                raise ValueError(f"{record.get('record')!r}: expected allocation or asset")
            field = "start"
            start = parse_time(str(record.get("start")))
            field = "end"
            end = parse_time(str(record.get("end")))
            if end < start:
                raise ValueError("ends before it starts")
            field = "resource"
            rate = parse_rate(str(record.get("resource")))
            field = "amount"
            amount = float(str(record.get("amount")))
            if not amount >= 0:
                raise ValueError(f"{amount} is not an amount")
        except ValueError as err:
            raise errors.FileError(path, f"{where}, field {field!r}", str(err)) from None
        table.add(start, end, rate, amount, {str(k): str(v) for k, v in labels.items()})
    return ledger.Ledger(tables["allocation"].build(), tables["asset"].build())
