"""OpenCost's custom pricing files, read into a PriceBook, so users keep the prices they have.

Two formats: the on-premises JSON (`default.json`: string-encoded $/core-hour `CPU`, $/GiB-hour
`RAM`, $/GPU-hour `GPU`, their `spot` variants, and $/GB-hour `storage`), and the CSV pricing
schema (`EndTimestamp,InstanceID,Region,AssetClass,InstanceIDField,InstanceType,
MarketPriceHourly,Version`), whose `gpu` rows price a GPU type and whose `pv` rows keyed by
`spec.storageClassName` price a storage class. Rows this model cannot price (whole nodes,
single volumes) are returned as skipped with the reason, not dropped silently.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from k8s4ai.finops import errors, pricing

CSV_COLUMNS = (
    "EndTimestamp", "InstanceID", "Region", "AssetClass", "InstanceIDField", "InstanceType",
    "MarketPriceHourly", "Version",
)
JSON_RATES: Mapping[str, tuple[pricing.ResourceKind, pricing.Market]] = {
    "CPU": (pricing.ResourceKind.CPU, pricing.Market.ON_DEMAND),
    "spotCPU": (pricing.ResourceKind.CPU, pricing.Market.SPOT),
    "RAM": (pricing.ResourceKind.MEMORY, pricing.Market.ON_DEMAND),
    "spotRAM": (pricing.ResourceKind.MEMORY, pricing.Market.SPOT),
    "GPU": (pricing.ResourceKind.GPU, pricing.Market.ON_DEMAND),
    "spotGPU": (pricing.ResourceKind.GPU, pricing.Market.SPOT),
    "storage": (pricing.ResourceKind.STORAGE, pricing.Market.ON_DEMAND),
}


class PriceFileError(errors.FileError):
    pass


@dataclass(frozen=True, slots=True)
class Imported:
    prices: pricing.PriceBook
    skipped: tuple[str, ...] = ()


def load(
    path: Path, gpu_classes: Iterable[str] = (), storage_classes: Iterable[str] = ()
) -> Imported:
    """Read a `.json` or `.csv` pricing file. The JSON file's one GPU price and one storage
    price apply to the AcceleratorClass and storage class names given (OpenCost has no class
    in that file); the CSV names its own."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PriceFileError(path, "file", f"cannot read it: {err}") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _from_json(path, text, tuple(gpu_classes), tuple(storage_classes))
    if suffix == ".csv":
        return _from_csv(path, text)
    raise PriceFileError(path, "file", "expected a .json or .csv OpenCost pricing file")


def _price(path: Path, where: str, raw: object) -> float:
    """OpenCost writes prices as strings ("0.95"), Helm values as numbers; take both."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise PriceFileError(path, where, f"expected a price, got {type(raw).__name__}")
    try:
        value = float(raw)
    except ValueError:
        raise PriceFileError(path, where, f"{raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise PriceFileError(path, where, f"{raw!r} is not a price (finite, not negative)")
    return value


def _from_json(
    path: Path, text: str, gpu_classes: tuple[str, ...], storage_classes: tuple[str, ...]
) -> Imported:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise PriceFileError(path, f"line {err.lineno}", f"not JSON: {err.msg}") from None
    if not isinstance(document, dict):
        raise PriceFileError(path, "line 1", "expected an object of prices")
    skus = {
        pricing.ResourceKind.GPU: gpu_classes,
        pricing.ResourceKind.STORAGE: storage_classes,
    }
    book, skipped = pricing.PriceBook(), []
    for field, (kind, market) in JSON_RATES.items():
        if field not in document or document[field] == "":
            continue
        price = _price(path, f"field {field!r}", document[field])
        names = skus.get(kind, ("",))
        if not names:
            skipped.append(f"field {field!r}: name the {kind} classes it prices")
        for sku in names:
            book = book.with_price(pricing.RateKey(kind, sku, market), price)
    return Imported(book, tuple(skipped))


def _from_csv(path: Path, text: str) -> Imported:
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in ("InstanceID", "AssetClass", "MarketPriceHourly")
               if c not in (reader.fieldnames or ())]
    if missing:
        raise PriceFileError(
            path, "line 1", f"missing column(s) {', '.join(missing)}; OpenCost's header is "
            + ",".join(CSV_COLUMNS)
        )
    book, skipped = pricing.PriceBook(), []
    for row in reader:
        line = f"line {reader.line_num}"
        asset, instance = (row["AssetClass"] or "").strip(), (row["InstanceID"] or "").strip()
        if not instance:
            raise PriceFileError(path, f"{line}, field 'InstanceID'", "is empty")
        price = _price(path, f"{line}, field 'MarketPriceHourly'", row["MarketPriceHourly"])
        field = (row.get("InstanceIDField") or "").strip()
        if asset == "gpu":
            key = pricing.RateKey(pricing.ResourceKind.GPU, instance)
        elif asset == "pv" and field == "spec.storageClassName":
            key = pricing.RateKey(pricing.ResourceKind.STORAGE, instance)
        else:
            skipped.append(
                f"{line}: AssetClass {asset!r} keyed by {field!r} prices a single asset; "
                "k8s4ai prices GPU types (gpu) and storage classes (pv by spec.storageClassName)"
            )
            continue
        book = book.with_price(key, price)
    return Imported(book, tuple(skipped))
