"""`k8s4ai cost` over a ledger file and an OpenCost pricing file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Invoke

LEDGER = """record,start,end,resource,amount,team,experiment
asset,2025-01-01T00:00:00Z,2025-01-08T00:00:00Z,gpu/h100,2,,
asset,2025-01-01T00:00:00Z,2025-01-08T00:00:00Z,cpu,10,,
allocation,2025-01-06T00:00:00Z,2025-01-06T10:00:00Z,gpu/h100,1,a,sft
allocation,2025-01-06T00:00:00Z,2025-01-06T10:00:00Z,cpu,4,a,sft
allocation,2025-01-06T00:00:00Z,2025-01-06T05:00:00Z,gpu/h100,1,b,
"""
PRICES = {"CPU": "0.05", "RAM": "0.004", "GPU": "4.0"}


def files(tmp_path: Path) -> list[str]:
    (tmp_path / "ledger.csv").write_text(LEDGER)
    (tmp_path / "prices.json").write_text(json.dumps(PRICES))
    return ["--ledger", str(tmp_path / "ledger.csv"), "--prices", str(tmp_path / "prices.json"),
            "--gpu-class", "h100"]


def test_cost_per_team_and_experiment_with_idle(k8s4ai: Invoke, tmp_path: Path) -> None:
    # Window: Jan 6 00:00 to 10:00. Bill: 2 GPU × 10 h × $4 = $80, 10 cores × 10 h × $0.05 = $5.
    result = k8s4ai("cost", *files(tmp_path), "--window", "10h", "--end",
                    "2025-01-06T10:00:00Z", "--aggregate", "team,experiment")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert lines[0] == ["TEAM", "EXPERIMENT", "GPU", "CPU", "MEMORY", "STORAGE", "TOTAL"]
    assert lines[1] == ["a", "sft", "$40.00", "$2.00", "$0.00", "$0.00", "$42.00"]
    assert lines[2][:2] == ["b", "__unallocated__"] and lines[2][-1] == "$20.00"
    assert lines[3] == ["__idle__", "__idle__", "$20.00", "$3.00", "$0.00", "$0.00", "$23.00"]
    assert lines[-1] == ["TOTAL", "$80.00", "$5.00", "$0.00", "$0.00", "$85.00"]


def test_cost_shares_idle_over_a_window_pair(k8s4ai: Invoke, tmp_path: Path) -> None:
    result = k8s4ai("cost", *files(tmp_path), "--window",
                    "2025-01-06T00:00:00Z,2025-01-06T10:00:00Z", "--aggregate", "team",
                    "--share-idle")
    assert result.exit_code == 0, result.output
    totals = {line.split()[0]: line.split()[-1] for line in result.output.splitlines()[1:]}
    assert totals == {"a": "$58.33", "b": "$26.67", "TOTAL": "$85.00"}


def test_a_bad_ledger_row_is_named(k8s4ai: Invoke, tmp_path: Path) -> None:
    args = files(tmp_path)
    (tmp_path / "ledger.csv").write_text(LEDGER.replace("gpu/h100,2", "tpu/v5,2"))
    result = k8s4ai("cost", *args, "--window", "7d")
    assert result.exit_code == 1
    assert "ledger.csv: line 2, field 'resource': 'tpu/v5': a resource starts with" in \
        result.output


def test_an_unpriced_resource_is_an_error(k8s4ai: Invoke, tmp_path: Path) -> None:
    args = files(tmp_path)
    (tmp_path / "ledger.csv").write_text(LEDGER.replace("gpu/h100,1,a", "gpu/a100,1,a"))
    result = k8s4ai("cost", *args, "--window", "7d", "--end", "2025-01-07T00:00:00Z")
    assert result.exit_code == 1
    assert "no price for gpu/a100/on-demand" in result.output
