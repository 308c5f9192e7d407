"""Ledger files and OpenCost-style windows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8s4ai.finops import errors, records
from k8s4ai.finops.pricing import Market, RateKey, ResourceKind


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("gpu/h100", RateKey(ResourceKind.GPU, "h100")),
        ("gpu/h100/spot", RateKey(ResourceKind.GPU, "h100", Market.SPOT)),
        ("cpu", RateKey(ResourceKind.CPU)),
        ("memory/reserved", RateKey(ResourceKind.MEMORY, "", Market.RESERVED)),
        ("storage/ssd", RateKey(ResourceKind.STORAGE, "ssd")),
    ],
)
def test_resources_read_as_kind_class_market(text: str, key: RateKey) -> None:
    assert records.parse_rate(text) == key
    assert records.parse_rate(str(key)) == key


def test_windows_end_now_or_are_a_pair() -> None:
    assert records.parse_window("7d", now=700_000.0).start == 700_000.0 - 7 * 86_400
    assert records.parse_window("1h30m", now=10_000.0).start == 10_000.0 - 5_400
    pair = records.parse_window("1970-01-01T00:00:00Z,1970-01-02T00:00:00+00:00", now=0.0)
    assert (pair.start, pair.end) == (0.0, 86_400.0)
    with pytest.raises(ValueError, match="no time zone"):
        records.parse_time("2025-01-01T00:00:00")


def test_json_ledger_with_labels(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps([
        {"record": "asset", "start": 0, "end": 3600, "resource": "gpu/h100", "amount": 8},
        {"record": "allocation", "start": "1970-01-01T00:00:00Z", "end": 1800,
         "resource": "gpu/h100", "amount": 0.5, "labels": {"team": "a"}},
    ]))
    book = records.load(path)
    assert len(book.assets) == 1 and len(book.allocations) == 1
    assert book.allocations.label_values("team") == ("a",)
    assert book.allocations.amount.tolist() == [0.5]


def test_json_ledger_errors_name_the_record_and_field(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps([
        {"record": "asset", "start": 0, "end": 10, "resource": "cpu", "amount": 1},
        {"record": "allocation", "start": 20, "end": 10, "resource": "cpu", "amount": 1},
    ]))
    with pytest.raises(errors.FileError, match=r"record 1, field 'end': ends before it starts"):
        records.load(path)
