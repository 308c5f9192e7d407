"""A ledger as JSON lines, the format of the live plane's journal (`k8s4ai.ledger.jsonl`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8s4ai.finops import errors, records


def test_json_lines_load_like_a_json_list(tmp_path: Path) -> None:
    rows = [
        {"record": "asset", "start": 0, "end": 3600, "resource": "gpu/h100", "amount": 8},
        {"record": "allocation", "start": 0, "end": 1800, "resource": "gpu/h100", "amount": 2,
         "labels": {"team": "a"}, "key": "gang/u1/gpu", "owner": "u1"},
    ]
    path = tmp_path / "ledger.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    book = records.load(path)
    assert len(book.assets) == 1 and len(book.allocations) == 1
    assert book.allocations.labels_of(0) == {"team": "a"}, "keys beside the record are not labels"


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ok = {"record": "asset", "start": 0, "end": 1, "resource": "cpu", "amount": 1}
    path.write_text(json.dumps(ok) + "\n{oops\n")
    with pytest.raises(errors.FileError, match="line 2"):
        records.load(path)
