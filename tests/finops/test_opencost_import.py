"""OpenCost custom pricing files: the on-premises JSON and the CSV pricing schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8s4ai.finops import opencost, pricing
from k8s4ai.finops.pricing import Market, RateKey, ResourceKind

DEFAULT_JSON = {
    "provider": "custom",
    "description": "on-prem prices",
    "CPU": "0.031611",
    "spotCPU": "0.006655",
    "RAM": "0.004237",
    "spotRAM": "0.000892",
    "GPU": "0.95",
    "storage": "0.00005479452",
    "zoneNetworkEgress": "0.01",
}
HEADER = "EndTimestamp,InstanceID,Region,AssetClass,InstanceIDField,InstanceType," \
    "MarketPriceHourly,Version"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_json_prices_cpu_memory_and_the_named_gpu_and_storage_classes(tmp_path: Path) -> None:
    path = write(tmp_path, "default.json", json.dumps(DEFAULT_JSON))
    imported = opencost.load(path, gpu_classes=["h100", "a100"], storage_classes=["ssd"])
    book = imported.prices
    assert book.schedule(RateKey(ResourceKind.CPU)).at(0) == 0.031611
    assert book.schedule(RateKey(ResourceKind.CPU, "", Market.SPOT)).at(0) == 0.006655
    assert book.schedule(RateKey(ResourceKind.MEMORY)).at(0) == 0.004237
    assert book.schedule(RateKey(ResourceKind.GPU, "a100")).at(0) == 0.95
    assert book.schedule(RateKey(ResourceKind.STORAGE, "ssd")).at(0) == 0.00005479452
    assert imported.skipped == ()


def test_json_gpu_price_without_classes_is_reported_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, "default.json", json.dumps({"GPU": 0.95, "CPU": 1.25}))
    imported = opencost.load(path)
    assert imported.skipped == ("field 'GPU': name the gpu classes it prices",)
    assert set(imported.prices.schedules) == {RateKey(ResourceKind.CPU)}


def test_csv_prices_gpu_types_and_storage_classes(tmp_path: Path) -> None:
    path = write(tmp_path, "pricing.csv", "\n".join([
        HEADER,
        "2028-01-06 23:34:45 UTC,h100,,gpu,nvidia.com/gpu_type,,2.5,",
        "2019-04-17 23:34:22 UTC,ssd,,pv,spec.storageClassName,,0.0001,",
        "2019-04-17 23:34:22 UTC,gke-node-1,,node,metadata.name,,0.1337,",
    ]))
    imported = opencost.load(path)
    assert imported.prices == pricing.PriceBook({
        RateKey(ResourceKind.GPU, "h100"): pricing.PriceSchedule.constant(2.5),
        RateKey(ResourceKind.STORAGE, "ssd"): pricing.PriceSchedule.constant(0.0001),
    })
    assert imported.skipped[0].startswith("line 4: AssetClass 'node' keyed by 'metadata.name'")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        pytest.param("p.json", '{"CPU": "1.2x"}', r"p.json: field 'CPU': '1.2x' is not a number",
                     id="json-bad-number"),
        pytest.param("p.json", '{"RAM": "-1"}', r"field 'RAM': '-1' is not a price",
                     id="json-negative"),
        pytest.param("p.json", '{\n"CPU": 1,\n}', r"p.json: line 3: not JSON", id="json-syntax"),
        pytest.param("p.json", "[1]", r"line 1: expected an object", id="json-not-object"),
        pytest.param("p.csv", "InstanceID,AssetClass\nx,gpu", r"line 1: missing column\(s\) "
                     "MarketPriceHourly", id="csv-header"),
        pytest.param("p.csv", HEADER + "\n,a,,gpu,,,1,\n,h100,,gpu,,,abc,",
                     r"p.csv: line 3, field 'MarketPriceHourly': 'abc' is not a number",
                     id="csv-bad-price"),
        pytest.param("p.csv", HEADER + "\n,,,gpu,,,1,", r"line 2, field 'InstanceID': is empty",
                     id="csv-empty-id"),
        pytest.param("p.yaml", "CPU: 1", r"expected a .json or .csv", id="unknown-format"),
    ],
)
def test_errors_name_the_file_place_and_reason(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(opencost.PriceFileError, match=message):
        opencost.load(write(tmp_path, name, text))
